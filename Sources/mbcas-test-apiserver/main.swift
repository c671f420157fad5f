// The loopback test API server on its own (being built, issue 5).
