// Controller tests (being built, issue 5).
