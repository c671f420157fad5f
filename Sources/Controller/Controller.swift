// The controller: applies PodAllocations through pods/resize (being built, issue 5).
