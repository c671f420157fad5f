"""Command line, checks, the run plan, and cleanup on every exit path."""
import argparse
import fcntl
import json
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time

from . import procs, report, scenarios
from .cgroupfs import CgroupError, Hierarchy, Shield, remove_tree
from .policies import AGENT_POLICIES, DESCRIPTIONS as POLICY_DESCRIPTIONS, NAMES as POLICY_NAMES
from .runner import Context, calibrate_redis, run_once
from .servers import missing_programs

ME = "bench-workloads"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "mbcas-bench-workloads-"

HELP = f"""\
Real servers and batch jobs in real cgroups, under one node budget, run under eight CPU
policies back to back: how MBCAS's decisions compare with static limits, the kernel's CFS burst,
the kernel's own fair share, a Koordinator-style CPU Burst loop and MBCAS's polling mode.

How it works: a parent cgroup carries the budget (default 1600m of this machine's CPUs) as its
own quota under every policy, so no policy hands out more CPU than the budget. Each pod is a
child cgroup; servers are started inside their pod (nginx: a ~50 KB text page gzipped at level 9
on every request, 2 workers; redis-server: a set intersection per request), batch is stress-ng.
The load generators (wrk, redis-benchmark) run outside the budget parent. Every 100 ms the pods'
limit and weight files and CPU use are sampled, the same way under every policy.

Scenarios:
{chr(10).join(f'  {name:<16}{text}' for name, text in scenarios.DESCRIPTIONS.items())}

Policies (each run starts from the same files: budget on the parent, weights from floors):
{chr(10).join(f'  {name:<18}{text}' for name, text in POLICY_DESCRIPTIONS.items())}

Measured per scenario, policy and repetition: requests/s during bursts, p50/p99 latency, throttled
time per pod (cpu.stat), batch bogo-ops/s (stress-ng --metrics-brief), mean CPU used and allocated,
changes of each pod's quota or weight and reversals of their direction per minute, use above the
pod's cap (1 s windows), and the agent's own CPU %. Writes summary.md, summary.json, runs.json
and PNG plots into a fresh bench-workloads-<UTC time>/ folder (or --out). Needs root; about
25 minutes by default, under 5 with --quick. Ctrl-C stops everything and removes the cgroups.

Examples:
  sudo make bench-workloads
  sudo make bench-workloads BENCH_FLAGS="--quick"
  sudo scripts/bench-workloads --scenarios web-batch --policies fair,agent-push --reps 5
  sudo scripts/bench-workloads --lock /tmp/mbcas-cpu.lock   # on a machine shared with others
"""


def parse(argv):
    parser = argparse.ArgumentParser(prog=f"scripts/{ME}", description=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1 repetition, short phases, 40 idle pods: a smoke run in under 5 minutes")
    parser.add_argument("--reps", type=int, help="repetitions of every scenario x policy (default 3; 1 with --quick)")
    parser.add_argument("--scenarios", default=",".join(scenarios.NAMES), help="comma-separated subset (default: all)")
    parser.add_argument("--policies", default=",".join(POLICY_NAMES), help="comma-separated subset (default: all)")
    parser.add_argument("--budget", type=int, default=1600, help="the node budget in millicores (default 1600)")
    parser.add_argument("--idle-pods", type=int, help="idle pods in idle-pods (default 150; 40 with --quick)")
    parser.add_argument("--settle", type=float, help="seconds between the policy's start and the measurement (default 2; 1 with --quick)")
    parser.add_argument("--out", help="results folder (default: a new bench-workloads-<UTC time>/ here)")
    parser.add_argument("--mbcas", help="the mbcas binary for the agent policies (default: swift build -c release --show-bin-path)")
    parser.add_argument("--agent-warmup-ms", type=int, default=2000,
                        help="the agents' market.warmup_ms: no shrink of a new pod before this (default 2000: runs are short)")
    parser.add_argument("--koordinator-node-threshold", type=float, metavar="PERCENT",
                        help="Koordinator's node guard: no scale-up while the machine is busier than this (default: off)")
    parser.add_argument("--lock", metavar="FILE",
                        help="hold flock(FILE) during each scenario and release it in between (machines shared with others)")
    parser.add_argument("--report", metavar="DIR",
                        help="write DIR's summary.md, summary.json and plots again from its runs.json (no run; no root)")
    parser.add_argument("--list", action="store_true", help="print the scenarios and policies and exit")
    args = parser.parse_args(argv)
    args.scenario_names = _subset(parser, args.scenarios, scenarios.NAMES, "--scenarios")
    args.policy_names = _subset(parser, args.policies, POLICY_NAMES, "--policies")
    args.reps = args.reps if args.reps is not None else (1 if args.quick else 3)
    args.settle = args.settle if args.settle is not None else (1.0 if args.quick else 2.0)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    if not 100 <= args.budget <= os.cpu_count() * 1000:
        parser.error(f"--budget must be between 100 and {os.cpu_count() * 1000} millicores (this machine's CPUs)")
    return args


def _subset(parser, text, known, flag):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        parser.error(f"{flag}: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(known)}")
    return [n for n in known if n in names]


def fail(message, code=1):
    print(f"{ME}: {message}", file=sys.stderr)
    sys.exit(code)


def find_mbcas(explicit):
    if explicit:
        if not os.access(explicit, os.X_OK):
            fail(f"--mbcas {explicit} is not an executable file")
        return os.path.abspath(explicit)
    bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.strip()
    binary = os.path.join(bin_dir, "mbcas")
    if not os.access(binary, os.X_OK):
        print(f"{ME}: building the release mbcas (make bpf; swift build -c release --product mbcas)", file=sys.stderr)
        subprocess.run(["make", "-s", "bpf"], cwd=REPO, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "mbcas"], cwd=REPO, check=True)
    return binary


def remove_stale(hierarchy):
    """Parents (and pin roots) of earlier runs whose process is gone, e.g. after a SIGKILL."""
    roots = [r for r in (hierarchy.cpu_root, hierarchy.acct_root, "/sys/fs/bpf") if r]
    for root in dict.fromkeys(roots):
        for name in os.listdir(root):
            if not name.startswith(PREFIX) or not name[len(PREFIX):].isdigit():
                continue
            pid = int(name[len(PREFIX):])
            try:
                os.kill(pid, 0)
                continue
            except ProcessLookupError:
                pass
            if root == "/sys/fs/bpf":
                for pinned in os.listdir(os.path.join(root, name)):
                    os.unlink(os.path.join(root, name, pinned))
                os.rmdir(os.path.join(root, name))
                continue
            remove_tree(hierarchy, name)
            print(f"{ME}: removed {root}/{name}, left by an earlier run (pid {pid})", file=sys.stderr)


def reset_signals():
    """Some launchers (Foundation's Process, for one) start us with signals blocked or ignored;
    children inherit both across exec, and stress-ng then never sees the SIGALRM that ends it, nor
    we the SIGINT that should stop us. Start clean."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGALRM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


def _terminate(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def plan(policies, reps):
    """Policies interleaved: each repetition starts one policy later, spreading drift over all."""
    for rep in range(1, reps + 1):
        shift = (rep - 1) % len(policies)
        for policy in policies[shift:] + policies[:shift]:
            yield rep, policy


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("scenarios: " + " ".join(scenarios.NAMES))
        print("policies:  " + " ".join(POLICY_NAMES))
        return 0
    if args.report:
        return rewrite_report(args.report)
    if os.geteuid() != 0:
        fail("needs root: it creates cgroups, writes their CPU limits and (for the agent policies) loads BPF "
             f"programs (run: sudo {shlex.join(['scripts/' + ME] + sys.argv[1:])})")
    missing = missing_programs()
    if missing:
        fail(f"missing programs from Debian packages {' '.join(missing)}: run `make deps` (or apt-get install {' '.join(missing)})")
    try:
        hierarchy = Hierarchy.discover()
    except CgroupError as error:
        fail(str(error))
    mbcas = find_mbcas(args.mbcas) if AGENT_POLICIES & set(args.policy_names) else None

    # The sampler keeps a few cgroup files open per pod (hundreds with the idle pods).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    reset_signals()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    out = args.out or f"{ME}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"{ME}-")
    top = f"{PREFIX}{os.getpid()}"
    shield = Shield(hierarchy, top)
    ctx = Context(hierarchy, shield.pods_parent, out, work, mbcas, args.settle, args.agent_warmup_ms,
                  args.koordinator_node_threshold, pin_root=f"/sys/fs/bpf/{top}")
    built = [scenarios.build(n, args.budget, args.quick, args.idle_pods) for n in args.scenario_names]
    meta = {"command": "sudo scripts/bench-workloads" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(),
            "kernel": platform.release(), "cgroup": hierarchy.describe(), "cpus": os.cpu_count(), "reps": args.reps,
            "quick": args.quick, "settle_s": args.settle, "budget_m": args.budget, "mbcas": mbcas,
            "policies": args.policy_names, "scenarios": args.scenario_names, "agent_warmup_ms": args.agent_warmup_ms}
    runs = []
    total = len(built) * args.reps * len(args.policy_names)
    began = time.monotonic()
    try:
        remove_stale(hierarchy)
        shield.enter()
        print(f"{ME}: {total} runs ({len(built)} scenarios x {len(args.policy_names)} policies x {args.reps}); "
              f"{hierarchy.describe()}; results in {out}/", file=sys.stderr)
        for scenario in built:
            with _maybe_locked(args.lock):
                if any(p.program == "redis" for p in scenario.servers):
                    scenario.redis_requests = calibrate_redis(ctx, scenario)
                for rep, policy in plan(args.policy_names, args.reps):
                    run = run_once(ctx, scenario, policy, rep)
                    runs.append(run)
                    _progress(len(runs), total, began, run)
                    with open(os.path.join(out, "runs.json"), "w") as handle:
                        json.dump(runs, handle)
        meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta["duration_s"] = round(time.monotonic() - began)
        summary = write_report(out, built, runs, meta)
        with open(os.path.join(out, "runs.json"), "w") as handle:
            json.dump(runs, handle)  # now with the figures the report derived across runs
        sys.stdout.write(report.markdown(summary))
        failed = [r for r in runs if r.get("error")]
        print(f"{ME}: {len(runs) - len(failed)}/{len(runs)} runs succeeded in {meta['duration_s']} s; results in {out}/",
              file=sys.stderr)
        return 1 if failed else 0
    except KeyboardInterrupt as interrupt:
        print(f"{ME}: interrupted ({interrupt or 'SIGINT'}); stopping and cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup must not be cut short by a second Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        left = ctx.remove_cgroups()
        left += shield.leave()
        if os.path.isdir(ctx.pin_root):
            for name in os.listdir(ctx.pin_root):
                os.unlink(os.path.join(ctx.pin_root, name))
            os.rmdir(ctx.pin_root)
        subprocess.run(["rm", "-rf", "--one-file-system", work], check=False)
        if left:
            print(f"{ME}: could not remove {left}", file=sys.stderr)


def write_report(out, built, runs, meta):
    summary = report.summarize(built, meta["policies"], runs, meta)
    report.write(out, summary)
    try:
        from . import plot
        plot.plot_all(out, summary, runs)
    except ImportError:
        print(f"{ME}: matplotlib is missing (apt-get install python3-matplotlib): no plots", file=sys.stderr)
    return summary


def rewrite_report(out):
    """The tables and plots again from a finished run's runs.json (after a change to the report)."""
    try:
        with open(os.path.join(out, "runs.json")) as handle:
            runs = json.load(handle)
        with open(os.path.join(out, "summary.json")) as handle:
            old = json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"--report {out}: needs the runs.json and summary.json of a finished run ({error})")
    meta = old["meta"]
    built = []
    for entry in old["scenarios"]:
        scenario = scenarios.build(entry["name"], meta["budget_m"], meta["quick"], entry.get("idle_pods") or None)
        scenario.redis_requests = entry.get("redis_requests_per_burst") or 0
        built.append(scenario)
    write_report(out, built, runs, meta)
    print(f"{ME}: wrote {out}/summary.md, summary.json and the plots again from runs.json", file=sys.stderr)
    return 0


class _maybe_locked:
    def __init__(self, path):
        self.path, self.handle = path, None

    def __enter__(self):
        if self.path:
            self.handle = open(self.path, "a")
            print(f"{ME}: waiting for the lock {self.path}", file=sys.stderr)
            fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        if self.handle:
            self.handle.close()  # closing releases the flock


def _progress(done, total, began, run):
    elapsed = time.monotonic() - began
    status = f"ERROR {run['error'][:200]}" if run.get("error") else _headline(run)
    print(f"{ME}: [{done}/{total} {elapsed:.0f}s] {run['scenario']} {run['policy']} r{run['rep']}: {status}",
          file=sys.stderr)


def _headline(run):
    parts = [f"{name} {s.get('rps', 0):.0f} req/s p99 {s.get('p99_ms') or 0:.0f} ms" for name, s in run.get("servers", {}).items()]
    parts += [f"{name} {b['bogo_ops_per_s']:.0f} bogo-ops/s" for name, b in run.get("batch", {}).items()
              if not name.startswith("burner-")]
    burners = [p["used_m"] or 0 for n, p in run.get("pods", {}).items() if n.startswith("burner-")]
    if burners:
        parts.append(f"burners {sum(burners):.0f}m")
    if "agent_cpu_percent" in run:
        parts.append(f"agent {run['agent_cpu_percent']:.1f}% CPU")
    return ", ".join(parts)
