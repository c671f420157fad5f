// Deploy manifest checks (being built, issue 6).
