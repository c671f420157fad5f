"""`make bench-workloads`: real servers (nginx, redis-server) and batch jobs (stress-ng) in real
cgroups under one node budget, run under eight CPU policies back to back. See scripts/bench-workloads --help."""
