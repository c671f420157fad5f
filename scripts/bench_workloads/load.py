"""The load generators, run outside the budget parent (they are the clients, not the pods):
wrk against nginx, redis-benchmark against redis-server. Each burst is one generator run."""
import re
import subprocess
import threading
import time

from . import procs
from .stats import median

CONNECTIONS = 8

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def parse_wrk(text):
    """wrk --latency output → {requests, seconds, rps, p50_ms, p99_ms, errors}; None if unparsable."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if not total:
        return None
    seconds = _ms(total.group(2) + total.group(3)) / 1000
    percentiles = {int(p): _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket:
        errors += sum(int(g) for g in socket.groups())
    requests = int(total.group(1))
    return {"requests": requests, "seconds": seconds, "rps": requests / seconds if seconds else 0.0,
            "p50_ms": percentiles.get(50), "p99_ms": percentiles.get(99), "errors": errors}


def parse_redis_csv(text):
    """redis-benchmark --csv → {rps, p50_ms, p99_ms}; None if unparsable."""
    for line in text.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) == 8 and cells[0] != "test":
            try:
                return {"rps": float(cells[1]), "p50_ms": float(cells[4]), "p99_ms": float(cells[6])}
            except ValueError:
                return None
    return None


def wrk_burst(url, seconds):
    """CPU-bound gzip requests at CONNECTIONS connections for `seconds`."""
    process = procs.start(["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--latency",
                           "-H", "Accept-Encoding: gzip", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = process.communicate(timeout=seconds + 30)
    procs.stop(process)
    parsed = parse_wrk(out.decode(errors="replace"))
    if parsed is None:
        raise RuntimeError(f"wrk printed no result (exit {process.returncode}): {out.decode(errors='replace')[-400:]}")
    return parsed


def redis_burst(port, requests, command, timeout):
    """A fixed batch of `requests` requests at CONNECTIONS connections (redis-benchmark has no
    duration option and reports nothing when stopped early): requests/s = batch / time taken."""
    start = time.monotonic()
    process = procs.start(["redis-benchmark", "-p", str(port), "-c", str(CONNECTIONS), "-n", str(requests), "--csv"]
                          + command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        procs.stop(process)
        raise RuntimeError(f"redis-benchmark did not finish {requests} requests in {timeout:.0f} s")
    procs.stop(process)
    parsed = parse_redis_csv(out.decode(errors="replace"))
    if parsed is None:
        raise RuntimeError(f"redis-benchmark printed no CSV result (exit {process.returncode}): {out.decode(errors='replace')[-400:]}")
    parsed.update(requests=requests, seconds=time.monotonic() - start, errors=0)
    return parsed


class BurstPlayer:
    """Plays one server's bursts at their offsets from a common start (a burst that overruns
    delays the next one: the backlog a slow policy builds is part of what it costs)."""

    def __init__(self, name, offsets, run_burst):
        self.name, self.offsets, self.run_burst = name, offsets, run_burst
        self.results, self.error = [], None
        self.thread = threading.Thread(target=self._play, name=f"load-{name}", daemon=True)

    def start(self, origin):
        self.origin = origin
        self.thread.start()

    def _play(self):
        try:
            for offset in self.offsets:
                delay = self.origin + offset - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                started = time.monotonic() - self.origin
                result = self.run_burst()
                result["start_s"] = round(started, 3)
                self.results.append(result)
        except Exception as error:  # reported with the run, not raised in a thread
            self.error = f"{self.name}: {error}"

    def join(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.error = self.error or f"{self.name}: load still running {timeout:.0f} s after the phase"


def summarize_bursts(results):
    """requests/s over all bursts (total requests / total burst time); p50 and p99 as the median
    burst's (percentiles of separate runs cannot be merged exactly)."""
    if not results:
        return {}
    seconds = sum(r["seconds"] for r in results)
    return {"rps": sum(r["requests"] for r in results) / seconds if seconds else 0.0,
            "p50_ms": median([r["p50_ms"] for r in results]), "p99_ms": median([r["p99_ms"] for r in results]),
            "bursts": len(results), "requests": sum(r["requests"] for r in results),
            "errors": sum(r.get("errors", 0) for r in results)}
