"""The eight policies. Every one starts from the same parent: the budget as the parent's own
quota (no policy can hand out more CPU than the budget), weights from the pods' floors.

  static            per-pod limits = the scenario's static limits
  static-burst      the same, plus the kernel's CFS burst (burst = quota)
  fair              no per-pod limits: the kernel divides the budget by the weights (from floors)
  fair-weighted     the same, with the latency pods' weights 10×
  koordinator       static limits + CFS burst + a 1 s loop: quota ×1.2 for each second a pod was
                    throttled, up to 3× its static limit; ×0.8 back towards it when not throttled
                    (Koordinator's CPU Burst "cfsQuotaBurst" with the kernel burst, see docs/bench-workloads.md)
  agent-poll        `mbcas agent --mode poll`, starting from the static limits
  agent-push        `mbcas agent` (push), no class hints
  agent-push-hints  `mbcas agent` (push), each pod's "class" (latency | batch) given in the config
"""
import json
import os
import threading
import time
import urllib.request

from . import procs
from .cgroupfs import PERIOD_US, CgroupError

NAMES = ["static", "static-burst", "fair", "fair-weighted", "koordinator", "agent-poll", "agent-push", "agent-push-hints"]
AGENT_POLICIES = {"agent-poll", "agent-push", "agent-push-hints"}
DESCRIPTIONS = {
    "static": "static per-pod limits",
    "static-burst": "static limits + kernel CFS burst (burst = quota)",
    "fair": "kernel fair share: budget on the parent, no per-pod limits, weights from floors",
    "fair-weighted": "kernel fair share with the latency pods weighted 10x",
    "koordinator": "Koordinator-style CPU Burst: 1 s loop, quota x1.2 per throttled second up to 3x, + CFS burst",
    "agent-poll": "mbcas agent --mode poll",
    "agent-push": "mbcas agent (push), no class hints",
    "agent-push-hints": "mbcas agent (push) with class hints",
}


def apply_initial(policy, scenario, parent, pods):
    """Writes the files every policy starts from. `pods` maps pod name → Cgroup."""
    parent.set_quota(scenario.budget)
    for spec in scenario.pods:
        cgroup = pods[spec.name]
        hand_weight = 10 if policy == "fair-weighted" and spec.klass == "latency" else 1
        cgroup.set_weight_millicores(spec.floor * hand_weight)
        if cgroup.burst_file():
            cgroup.set_burst_us(0)
        if policy in ("fair", "fair-weighted"):
            cgroup.set_quota(None)
            continue
        cgroup.set_quota(spec.static)
        if policy in ("static-burst", "koordinator"):
            cgroup.set_burst_us(_quota_us(spec.static))


def _quota_us(millicores):
    return round(millicores * PERIOD_US / 1000)


class KoordinatorLoop:
    """Koordinator's CPU Burst, reimplemented: each second, a pod throttled during the last
    second gets quota × 1.2 (at most 3× its static limit); one that was not goes × 0.8 (at least
    its static limit); cpu.cfs_burst_us / cpu.max.burst follows the quota (burst = quota, the
    kernel's maximum). Scale-up writes quota then burst, scale-down burst then quota, as the
    kernel requires burst ≤ quota at every step. With `node_threshold` (percent), Koordinator's
    node guard: above it no pod scales up and the scaled ones scale down."""
    INCREASE, DECREASE, CEILING = 1.2, 0.8, 3.0

    def __init__(self, scenario, pods, node_threshold=None, interval=1.0):
        self.scenario, self.pods, self.node_threshold, self.interval = scenario, pods, node_threshold, interval
        self.stop_event = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="koordinator", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)

    def _node_busy_percent(self, last):
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        idle, total = fields[3] + fields[4], sum(fields[:8])
        busy = None
        if last:
            d_total = total - last[1]
            busy = 100.0 * (1 - (idle - last[0]) / d_total) if d_total else 0.0
        return busy, (idle, total)

    def _run(self):
        try:
            throttled = {name: cg.nr_throttled() for name, cg in self.pods.items()}
            _, node = self._node_busy_percent(None)
            while not self.stop_event.wait(self.interval):
                busy, node = self._node_busy_percent(node)
                overloaded = self.node_threshold is not None and busy is not None and busy >= self.node_threshold
                for spec in self.scenario.pods:
                    cgroup = self.pods[spec.name]
                    now = cgroup.nr_throttled()
                    was_throttled, throttled[spec.name] = now > throttled[spec.name], now
                    base = _quota_us(spec.static)
                    current = round(cgroup.quota_millicores() * PERIOD_US / 1000)
                    target = current * (self.INCREASE if was_throttled and not overloaded else self.DECREASE)
                    # Never above the budget on the parent: cgroup v1 refuses a child quota above its parent's.
                    ceiling = min(base * self.CEILING, _quota_us(self.scenario.budget))
                    target = int(max(min(base, ceiling), min(target, ceiling)))
                    if target == current:
                        continue
                    if target > current:
                        cgroup.set_quota_us(target)
                        cgroup.set_burst_us(target)
                    else:
                        cgroup.set_burst_us(target)
                        cgroup.set_quota_us(target)
        except (OSError, CgroupError) as error:
            self.error = f"koordinator loop: {error}"


class Agent:
    """`mbcas agent` over the budget parent, its log in the run's folder."""

    def __init__(self, policy, binary, scenario, parent, run_dir, pin_root, warmup_ms):
        self.policy, self.binary, self.scenario, self.parent = policy, binary, scenario, parent
        self.run_dir, self.pin_root, self.warmup_ms = run_dir, pin_root, warmup_ms
        self.process, self.port = None, None

    def config(self):
        pods = {}
        for spec in self.scenario.pods:
            entry = {"floor": spec.floor, "cap": spec.cap, "weight": spec.weight}
            if self.policy == "agent-push-hints":
                entry["class"] = spec.klass
            pods[spec.name] = entry
        return {"cgroup_parent": self.parent.path, "capacity_millicores": self.scenario.budget, "reserve_millicores": 0,
                "defaults": {"floor": 10, "cap": self.scenario.budget, "weight": 1},
                "pods": pods, "market": {"warmup_ms": self.warmup_ms}}

    def start(self, ready_timeout=60.0):
        from .servers import free_port
        path = os.path.join(self.run_dir, "agent-config.json")
        with open(path, "w") as handle:
            json.dump(self.config(), handle, indent=1)
        self.port = free_port()
        self.log_path = os.path.join(self.run_dir, "agent.log")
        log = open(self.log_path, "w")
        argv = [self.binary, "agent", "--config", path, "--log-level", "info",
                "--metrics-address", f"127.0.0.1:{self.port}", "--pin-root", self.pin_root, "--unpin-on-exit",
                "--mode", "poll" if self.policy == "agent-poll" else "push"]
        self.process = procs.start(argv, stdout=log, stderr=log)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"mbcas agent exited with {self.process.returncode} before it was ready; "
                                   f"its log ({self.log_path}) ends: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False
        if not procs.wait_for(ready, ready_timeout, interval=0.1):
            raise RuntimeError(f"mbcas agent not ready after {ready_timeout:.0f} s; log: {self.log_tail()}")

    def log_tail(self, lines=6):
        try:
            return " | ".join(open(self.log_path, errors="replace").read().strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def stop(self):
        if self.process:
            procs.stop(self.process, grace=10.0)
            for leftover in (self.pin_root,):
                if os.path.isdir(leftover):  # the agent unpins on a clean exit; after a kill, we do
                    for name in os.listdir(leftover):
                        os.unlink(os.path.join(leftover, name))
                    os.rmdir(leftover)
