"""One run: a scenario under one policy, from empty cgroups to removed cgroups.

  1. the budget parent and the pods' cgroups; the policy's starting files
  2. the servers start (idle) in their pods; the sampler starts
  3. the policy's actor starts (the Koordinator-style loop, or `mbcas agent`, waited for until ready)
  4. batch starts; `settle` seconds pass (the policy sees the idle servers beside busy batch)
  5. the measurement: server bursts (and the burners of idle-pods), `measure_s` seconds
  6. everything stops and is removed, whatever happened
"""
import os
import time

from . import load, procs
from .cgroupfs import Cgroup
from .policies import Agent, KoordinatorLoop, apply_initial
from .sampler import Sampler
from .servers import Nginx, Redis, StressCPU


class Context:
    """What every run shares: the hierarchy, the parent's name, options, the output folder."""

    def __init__(self, hierarchy, parent_name, out, work, mbcas, settle_s, warmup_ms, koord_threshold, pin_root):
        self.hierarchy, self.parent_name, self.out, self.work = hierarchy, parent_name, out, work
        self.mbcas, self.settle_s, self.warmup_ms = mbcas, settle_s, warmup_ms
        self.koord_threshold, self.pin_root = koord_threshold, pin_root
        self.live = []   # cgroups to remove should the run be interrupted

    def make_cgroups(self, scenario):
        parent = Cgroup(self.hierarchy, self.parent_name)
        self.live.append(parent)
        parent.create()
        parent.enable_cpu_for_children()
        pods = {}
        for spec in scenario.pods:
            pods[spec.name] = Cgroup(self.hierarchy, f"{self.parent_name}/{spec.name}")
            self.live.append(pods[spec.name])
            pods[spec.name].create()
        return parent, pods

    def remove_cgroups(self):
        """Children first, then the parent. Returns what could not be removed."""
        left = []
        for cgroup in reversed(self.live):
            left += cgroup.remove()
        self.live.clear()
        return left


def calibrate_redis(ctx, scenario):
    """Requests per redis burst: what redis serves in one burst at its static limit, measured once
    per scenario so every policy gets the same batch."""
    spec = next(p for p in scenario.servers if p.program == "redis")
    parent, pods = ctx.make_cgroups(scenario)
    try:
        apply_initial("static", scenario, parent, pods)
        server = Redis(ctx.work, pods[spec.name])
        server.start()
        load.redis_burst(server.port, 2000, Redis.COMMAND, timeout=60)   # warm-up
        sample = load.redis_burst(server.port, 5000, Redis.COMMAND, timeout=120)
        return max(500, int(sample["rps"] * scenario.burst_s))
    finally:
        procs.stop_all()
        ctx.remove_cgroups()


def _start_server(ctx, spec, cgroup):
    server = (Nginx if spec.program == "nginx" else Redis)(ctx.work, cgroup)
    server.start()
    return server


def _burst_function(scenario, server):
    if server.kind == "nginx":
        return lambda: load.wrk_burst(server.url, scenario.burst_s)
    return lambda: load.redis_burst(server.port, scenario.redis_requests, Redis.COMMAND,
                                    timeout=max(30.0, scenario.burst_s * 15))


def run_once(ctx, scenario, policy, rep):
    run_dir = os.path.join(ctx.out, "runs", scenario.name, f"{policy}-r{rep}")
    os.makedirs(run_dir, exist_ok=True)
    result = {"scenario": scenario.name, "policy": policy, "rep": rep, "budget_m": scenario.budget}
    actor = sampler = None
    try:
        parent, pods = ctx.make_cgroups(scenario)
        apply_initial(policy, scenario, parent, pods)
        servers = {spec.name: _start_server(ctx, spec, pods[spec.name]) for spec in scenario.servers}

        origin = time.monotonic()
        sampler = Sampler(parent, pods, scenario.budget)
        sampler.start(origin)
        if policy == "koordinator":
            actor = KoordinatorLoop(scenario, pods, node_threshold=ctx.koord_threshold)
            actor.start()
        elif policy.startswith("agent-"):
            actor = Agent(policy, ctx.mbcas, scenario, parent, run_dir, ctx.pin_root, ctx.warmup_ms)
            actor.start()

        batch = {}
        for spec in scenario.pods:
            if spec.program == "stress" and not spec.starts_with_measure:
                batch[spec.name] = StressCPU(run_dir, pods[spec.name], spec.workers, ctx.settle_s + scenario.measure_s)
                batch[spec.name].start()
        time.sleep(ctx.settle_s)

        start = time.monotonic() - origin
        throttled = {name: cg.throttled_ns() for name, cg in pods.items()}
        agent_cpu = procs.cpu_seconds(actor.pid) if isinstance(actor, Agent) else None
        for spec in scenario.pods:
            if spec.program == "stress" and spec.starts_with_measure:
                batch[spec.name] = StressCPU(run_dir, pods[spec.name], spec.workers, scenario.measure_s)
                batch[spec.name].start()
        players = [load.BurstPlayer(name, offsets, _burst_function(scenario, servers[name]))
                   for name, offsets in scenario.bursts.items()]
        measure_origin = time.monotonic()
        for player in players:
            player.start(measure_origin)
        time.sleep(max(0.0, measure_origin + scenario.measure_s - time.monotonic()))
        for player in players:
            player.join(timeout=max(30.0, scenario.burst_s * 20))
        end = time.monotonic() - origin
        if isinstance(actor, Agent):
            result["agent_cpu_percent"] = 100 * (procs.cpu_seconds(actor.pid) - agent_cpu) / (end - start)
        result["throttled_s"] = {name: (cg.throttled_ns() - throttled[name]) / 1e9 for name, cg in pods.items()}
        sampler.stop()

        errors = [p.error for p in players if p.error] + [x for x in (sampler.error, getattr(actor, "error", None)) if x]
        if isinstance(actor, Agent) and actor.process.poll() is not None:
            errors.append(f"mbcas agent exited with {actor.process.returncode} during the run: {actor.log_tail()}")
        result["servers"] = {p.name: {"bursts": p.results, **load.summarize_bursts(p.results)} for p in players}
        result["batch"] = {name: job.result(timeout=scenario.measure_s + ctx.settle_s + 30) for name, job in batch.items()}
        result.update(_derive(scenario, sampler, start, end))
        if errors:
            result["error"] = "; ".join(errors)
    except Exception as error:  # one failed run is reported, the others still run
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        if sampler:
            sampler.stop()
        if actor:
            actor.stop()
        procs.stop_all()
        left = ctx.remove_cgroups()
        if left:
            result["error"] = (result.get("error", "") + f"; could not remove {left}").lstrip("; ")
    return result


def _derive(scenario, sampler, start, end):
    """Per-pod figures from the samples: the measurement window for use and allocation, the
    whole sampled span (policy start to the end) for changes and the cap check."""
    minutes = max(sampler.duration, 1e-9) / 60
    pods = {}
    for spec in scenario.pods:
        over, worst = sampler.cap_excess(spec.name, spec.cap)
        pods[spec.name] = {
            "role": spec.role, "class": spec.klass, "floor": spec.floor, "cap": spec.cap, "static": spec.static,
            "used_m": sampler.usage_millicores(spec.name, start, end),
            "allocated_m": sampler.mean_allocated(spec.name, start, end),
            "weight_share": sampler.mean_weight_share(spec.name, start, end),
            "changes": sampler.changes(spec.name),
            "direction_changes_per_min": sampler.direction_changes(spec.name) / minutes,
            "cap_windows_over": over, "cap_peak_ratio": worst,
        }
    derived = {"pods": pods, "span_s": sampler.duration, "measure_s": end - start}
    # Busy pods' combined use per 100 ms from the measurement's start (idle-pods: how fast they get CPU).
    busy = [s.name for s in scenario.pods if s.role != "idle"]
    windows = {name: sampler.usage_windows(name) for name in busy}
    derived["series"] = {
        "t": [round(t - start, 2) for t, _ in windows[busy[0]]],
        "used_m": {name: [round(v) for _, v in w] for name, w in windows.items()},
        "quota_m": {name: [None if q is None else round(q) for q in sampler.series[name]["quota"][1:]] for name in busy},
    }
    return derived
