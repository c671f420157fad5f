"""The real programs that run inside the pods: nginx (CPU-bound: a ~50 KB text page gzipped on
every request), redis-server (a server-side set intersection per request) and stress-ng (batch)."""
import os
import random
import re
import shutil
import socket
import subprocess
import time

from . import procs

REQUIRED = {"nginx": "nginx", "wrk": "wrk", "redis-server": "redis-server", "redis-benchmark": "redis-tools",
            "redis-cli": "redis-tools", "stress-ng": "stress-ng"}


def missing_programs():
    """Debian packages whose programs are not on PATH."""
    return sorted({package for program, package in REQUIRED.items() if not shutil.which(program)})


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port, process, timeout=10.0):
    def listening():
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[-1] if process.args else 'server'} exited with {process.returncode} before listening")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0
    if not procs.wait_for(listening, timeout):
        raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def _page_text(size=50_000, seed=12):
    """Deterministic prose-like text: compressible like a real page (about 3:1), not trivially."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    lines, length = [], 0
    while length < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(8, 16))) + "\n"
        lines.append(line)
        length += len(line)
    return "".join(lines)[:size]


NGINX_CONF = """\
worker_processes 2;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type text/plain;
    sendfile off;
    keepalive_requests 1000000;
    gzip on;
    gzip_comp_level 9;
    gzip_min_length 0;
    gzip_types text/plain;
    open_file_cache max=16;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/html;
        location / {{ }}
    }}
}}
"""


class Nginx:
    """nginx with 2 workers serving /page.txt gzipped at level 9 (every request costs CPU)."""
    kind = "nginx"

    def __init__(self, directory, cgroup):
        self.prefix = os.path.join(directory, f"nginx-{cgroup.name}")
        self.cgroup, self.port, self.process = cgroup, free_port(), None

    def start(self):
        for sub in ("html", "tmp"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
        with open(os.path.join(self.prefix, "html", "page.txt"), "w") as handle:
            handle.write(_page_text())
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as handle:
            handle.write(NGINX_CONF.format(prefix=self.prefix, port=self.port))
        # The workers run as nobody: the prefix must be readable on the way down.
        for path in (os.path.dirname(self.prefix), self.prefix, os.path.join(self.prefix, "html")):
            os.chmod(path, 0o755)
        os.chmod(os.path.join(self.prefix, "html", "page.txt"), 0o644)
        log = open(os.path.join(self.prefix, "stderr.log"), "w")
        self.process = procs.start(["nginx", "-p", self.prefix, "-c", conf], cgroup=self.cgroup, stderr=log)
        _wait_port(self.port, self.process)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/page.txt"


class Redis:
    """redis-server, no persistence, with two sets of 2000 members: each request (SINTERCARD of
    the two) costs the server ~0.1 ms of CPU and the client almost nothing."""
    kind = "redis"
    SET_SIZE = 2000

    def __init__(self, directory, cgroup):
        self.directory = os.path.join(directory, f"redis-{cgroup.name}")
        self.cgroup, self.port, self.process = cgroup, free_port(), None

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        log = open(os.path.join(self.directory, "stderr.log"), "w")
        self.process = procs.start(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory, "--logfile", os.path.join(self.directory, "redis.log")],
            cgroup=self.cgroup, stderr=log)
        _wait_port(self.port, self.process)
        for key, step in (("a", 2), ("b", 3)):
            members = [str(i) for i in range(0, self.SET_SIZE * step, step)]
            subprocess.run(["redis-cli", "-p", str(self.port), "SADD", key] + members, check=True,
                           stdout=subprocess.DEVNULL, timeout=30)

    COMMAND = ["SINTERCARD", "2", "a", "b"]


class StressCPU:
    """stress-ng --cpu N for `seconds`; bogo-ops/s (real time) from its --metrics-brief report."""
    kind = "stress-ng"

    def __init__(self, directory, cgroup, workers, seconds):
        self.log_path = os.path.join(directory, f"stress-{cgroup.name}.log")
        self.cgroup, self.workers, self.seconds, self.process = cgroup, workers, seconds, None

    def start(self):
        self.log = open(self.log_path, "w")
        self.process = procs.start(["stress-ng", "--cpu", str(self.workers), "--cpu-method", "matrixprod",
                                    "--timeout", f"{self.seconds:.1f}s", "--metrics-brief"],
                                   cgroup=self.cgroup, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def result(self, timeout):
        """Waits for stress-ng's own end; returns {bogo_ops, bogo_ops_per_s} or raises."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            procs.stop(self.process, sig=2)  # SIGINT: stress-ng still reports what it did
        self.log.close()
        text = open(self.log_path).read()
        parsed = parse_stress_metrics(text)
        if parsed is None:
            raise RuntimeError(f"no 'cpu' line in stress-ng's --metrics-brief output ({self.log_path}):\n{text[-600:]}")
        return parsed


_METRICS = re.compile(r"\]\s+cpu\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


def parse_stress_metrics(text):
    """stress-ng's line `... cpu  BOGO_OPS  REAL_S  USR_S  SYS_S  OPS_PER_S_REAL ...`."""
    match = _METRICS.search(text)
    if not match:
        return None
    return {"bogo_ops": int(match.group(1)), "seconds": float(match.group(2)),
            "bogo_ops_per_s": float(match.group(5))}
