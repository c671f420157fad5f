"""The four workloads, each under one node budget (the parent cgroup's quota).

Figures below are for the default 1600m budget and scale with --budget. `static` is the pod's
limit under the static policies and the agents' starting limit; `floor` is its request (the
fair-share weight and the agents' floor); `cap` is the most it may ever get (the agents' cap).
"""
from dataclasses import dataclass, field


@dataclass
class Pod:
    name: str
    role: str                 # server | batch | idle
    klass: str                # latency | batch: the class hint policy agent-push-hints passes
    floor: int
    cap: int
    static: int
    weight: float = 1.0       # the agents' bid weight
    program: str = None       # nginx | redis | stress | None (an empty cgroup)
    workers: int = 0          # stress-ng --cpu N
    starts_with_measure: bool = False  # batch that starts when the measurement starts (else before the settle)


@dataclass
class Scenario:
    name: str
    title: str
    budget: int
    pods: list
    measure_s: float
    bursts: dict = field(default_factory=dict)   # server pod → burst start offsets (s) in the measurement
    burst_s: float = 0.0
    redis_requests: int = 0                      # requests per redis burst (calibrated per run)

    def pod(self, name):
        return next(p for p in self.pods if p.name == name)

    @property
    def servers(self):
        return [p for p in self.pods if p.role == "server"]

    @property
    def latency_pods(self):
        return [p for p in self.pods if p.klass == "latency"]


NAMES = ["web-batch", "alternating", "weighted-batch", "idle-pods"]
DESCRIPTIONS = {
    "web-batch": "bursty nginx (wrk: 2 s at 8 connections, 2 s idle) beside stress-ng --cpu 2",
    "alternating": "nginx and redis-server whose bursts alternate (2 s each)",
    "weighted-batch": "three stress-ng --cpu 2 pods with floors (requests, hence weights) 1:2:4, steady contention",
    "idle-pods": "150 idle pods (floor 10m) beside 4 stress-ng --cpu 1 burners that start with the measurement",
}


def build(name, budget=1600, quick=False, idle_pods=None):
    k = budget / 1600

    def m(value):
        return max(10, int(round(value * k)))

    if name == "web-batch":
        cycles, on, off = (2, 1.0, 1.0) if quick else (3, 2.0, 2.0)
        return Scenario(name, "Bursty web beside batch", budget, [
            # Caps are the budget, as in the issue's own measurement (caps 1600m) and as under fair share
            # (no per-pod limits): the comparison is about decisions, not about a cap only some policies have.
            Pod("web", "server", "latency", floor=m(200), cap=budget, static=m(400), program="nginx"),
            Pod("batch", "batch", "batch", floor=m(200), cap=budget, static=m(1200), program="stress", workers=2),
        ], measure_s=cycles * (on + off), bursts={"web": [i * (on + off) for i in range(cycles)]}, burst_s=on)
    if name == "alternating":
        cycles, slot = (2, 1.0) if quick else (3, 2.0)
        return Scenario(name, "Two servers whose bursts alternate", budget, [
            # Caps are the budget: each server may take all of it while the other sleeps, as under the
            # kernel's fair share (no per-pod limits); a lower cap would measure the cap, not the decisions.
            Pod("web", "server", "latency", floor=m(200), cap=budget, static=m(800), program="nginx"),
            Pod("cache", "server", "latency", floor=m(200), cap=budget, static=m(800), program="redis"),
        ], measure_s=cycles * 2 * slot, burst_s=slot,
            bursts={"web": [i * 2 * slot for i in range(cycles)], "cache": [i * 2 * slot + slot for i in range(cycles)]})
    if name == "weighted-batch":
        pods = [Pod(f"batch-w{w}", "batch", "batch", floor=m(200 * w), cap=m(1200), static=int(budget * w / 7),
                    program="stress", workers=2) for w in (1, 2, 4)]
        # The floors (requests) carry the weights 1:2:4 for every policy, as requests do on Kubernetes;
        # the agents' own `weight` (a multiplier on top of the request) stays 1, or they would bid 1:4:16.
        return Scenario(name, "Steady contention between batch pods weighted 1:2:4", budget, pods,
                        measure_s=4.0 if quick else 10.0)
    if name == "idle-pods":
        count = idle_pods if idle_pods is not None else (40 if quick else 150)
        # Floors fill the budget: 10m per idle pod, the rest split between the burners.
        burner_floor = max(10, (budget - 10 * count) // 4)
        pods = [Pod(f"burner-{i}", "batch", "batch", floor=burner_floor, cap=m(800), static=m(300), program="stress",
                    workers=1, starts_with_measure=True) for i in range(1, 5)]
        pods += [Pod(f"idle-{i:03d}", "idle", "batch", floor=10, cap=m(200), static=10) for i in range(1, count + 1)]
        return Scenario(name, f"{count} idle pods beside 4 busy ones", budget, pods, measure_s=4.0 if quick else 10.0)
    raise ValueError(f"unknown scenario {name!r}; known: {', '.join(NAMES)}")
