"""summary.json and summary.md: per scenario and policy, the median and the spread (min–max) over
the repetitions of every figure."""
import json

from .policies import DESCRIPTIONS as POLICY_DESCRIPTIONS
from .stats import median, spread

# Column → (unit, digits). Columns are made per pod; the pod's name is prefixed.
PERFORMANCE = ["req/s", "p50 ms", "p99 ms", "bogo-ops/s", "throttled s", "used m"]
BEHAVIOUR = ["alloc m", "weight %", "share %", "changes", "dir/min"]


def flatten(run):
    """A run's figures as {column: value}, the columns the tables show."""
    if run.get("error") and "pods" not in run:
        return {}
    flat = {}
    pods = run["pods"]
    for name, figures in run.get("servers", {}).items():
        flat[f"{name} req/s"] = figures.get("rps")
        flat[f"{name} p50 ms"] = figures.get("p50_ms")
        flat[f"{name} p99 ms"] = figures.get("p99_ms")
    for name, figures in run.get("batch", {}).items():
        if not name.startswith("burner-"):
            flat[f"{name} bogo-ops/s"] = figures.get("bogo_ops_per_s")
    busy = [n for n, p in pods.items() if p["role"] != "idle"]
    burners = [n for n in busy if n.startswith("burner-")]
    for name in busy:
        if name in burners:
            continue
        flat[f"{name} throttled s"] = run["throttled_s"].get(name)
        flat[f"{name} used m"] = pods[name]["used_m"]
        flat[f"{name} alloc m"] = pods[name]["allocated_m"]
        flat[f"{name} weight %"] = _percent(pods[name]["weight_share"])
        flat[f"{name} changes"] = pods[name]["changes"]
        flat[f"{name} dir/min"] = pods[name]["direction_changes_per_min"]
    batch = [n for n in busy if pods[n]["role"] == "batch" and n not in burners]
    if run["scenario"] == "weighted-batch":
        used = {n: pods[n]["used_m"] or 0 for n in batch}
        floors = {n: pods[n]["floor"] for n in batch}
        for n in batch:
            share = used[n] / sum(used.values()) if sum(used.values()) else None
            flat[f"{n} share %"] = _percent(share)
        if sum(used.values()):
            flat["share error %"] = max(abs(used[n] / sum(used.values()) / (floors[n] / sum(floors.values())) - 1)
                                        for n in batch) * 100
    if burners:
        flat["burners used m"] = sum(pods[n]["used_m"] or 0 for n in burners)
        flat["burners throttled s"] = sum(run["throttled_s"].get(n, 0) for n in burners)
        # Together they can never get more than the budget, whatever their limits add up to.
        flat["burners alloc m"] = min(run["budget_m"], sum(pods[n]["allocated_m"] or 0 for n in burners))
        flat["burners changes"] = sum(pods[n]["changes"] for n in burners)
        flat["burners dir/min"] = max(pods[n]["direction_changes_per_min"] for n in burners)
        flat["burners to 90% s"] = run.get("burners_to_90_s")
    idle = [n for n, p in pods.items() if p["role"] == "idle"]
    if idle:
        flat["idle changes max"] = max(pods[n]["changes"] for n in idle)
        flat["idle pods changed"] = sum(1 for n in idle if pods[n]["changes"])
    flat["changes total"] = sum(p["changes"] for p in pods.values())
    flat["dir/min max"] = max(p["direction_changes_per_min"] for p in pods.values())
    flat["cap windows over"] = sum(p["cap_windows_over"] for p in pods.values())
    flat["cap peak %"] = max(p["cap_peak_ratio"] for p in pods.values()) * 100
    if "agent_cpu_percent" in run:
        flat["agent CPU %"] = run["agent_cpu_percent"]
    return flat


def _percent(value):
    return None if value is None else value * 100


def add_time_to_fair(runs):
    """idle-pods: seconds from the burners' start until their combined use first stays at 90 % of
    what kernel fair share gave them (median over its runs) for three 100 ms windows in a row."""
    def burners_total(run):
        return sum(run["pods"][n]["used_m"] or 0 for n in run["pods"] if n.startswith("burner-"))
    reference = median([burners_total(r) for r in runs if r["policy"] == "fair" and "pods" in r and not r.get("error")])
    for run in runs:
        if "series" not in run or reference is None:
            continue
        series = run["series"]
        names = [n for n in series["used_m"] if n.startswith("burner-")]
        if not names:
            continue
        total = [sum(series["used_m"][n][i] for n in names) for i in range(len(series["t"]))]
        run["burners_to_90_s"] = None
        for i in range(len(total) - 2):
            if series["t"][i] > 0 and min(total[i:i + 3]) >= 0.9 * reference:
                run["burners_to_90_s"] = series["t"][i]  # the end of the first of 3 such 100 ms windows
                break
        run["burners_reference_m"] = reference


def summarize(scenarios, policies, runs, meta):
    out = {"meta": meta, "scenarios": []}
    for scenario in scenarios:
        these = [r for r in runs if r["scenario"] == scenario.name]
        add_time_to_fair(these)
        entry = {"name": scenario.name, "title": scenario.title, "budget_m": scenario.budget,
                 "measure_s": scenario.measure_s, "redis_requests_per_burst": scenario.redis_requests or None,
                 "pods": [{"name": p.name, "role": p.role, "class": p.klass, "floor_m": p.floor, "cap_m": p.cap,
                           "static_m": p.static, "weight": p.weight, "program": p.program}
                          for p in scenario.pods if p.role != "idle"],
                 "idle_pods": sum(1 for p in scenario.pods if p.role == "idle"), "policies": []}
        for policy in policies:
            mine = [r for r in these if r["policy"] == policy]
            flats = [flatten(r) for r in mine]
            keys = []
            for flat in flats:
                keys += [k for k in flat if k not in keys]
            entry["policies"].append({
                "policy": policy, "runs": len(mine),
                "errors": [f"r{r['rep']}: {r['error']}" for r in mine if r.get("error")],
                "metrics": {k: spread([f.get(k) for f in flats]) for k in keys},
            })
        out["scenarios"].append(entry)
    return out


def _fmt(value, key):
    if value is None:
        return "–"
    if key.endswith(("req/s", "bogo-ops/s", " m")) or key.startswith(("changes", "idle")) or key.endswith("changes") \
            or key == "cap windows over":
        return f"{value:,.0f}"
    if key.endswith(("ms", "%")) and value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _cell(stats, key, runs):
    """median (min–max); "[n/N runs]" when only n of the N runs have the figure (e.g. never reached)."""
    if not stats or stats["n"] == 0:
        return "–"
    text = _fmt(stats["median"], key)
    if stats["n"] > 1 and stats["min"] != stats["max"]:
        text += f" ({_fmt(stats['min'], key)}–{_fmt(stats['max'], key)})"
    return text + (f" [{stats['n']}/{runs} runs]" if stats["n"] < runs else "")


def _columns(entry, suffixes, extra):
    keys = []
    for policy in entry["policies"]:
        keys += [k for k in policy["metrics"] if k not in keys]
    chosen = [k for k in keys if any(k.endswith(" " + s) for s in suffixes) and not k.startswith(("idle ", "burners "))]
    return chosen + [k for k in extra if k in keys]


def markdown(summary):
    meta = summary["meta"]
    lines = [f"# bench-workloads {meta['started']}", "",
             f"`{meta['command']}` on {meta['host']} (kernel {meta['kernel']}, {meta['cgroup']}, {meta['cpus']} CPUs), "
             f"{meta['reps']} repetition(s) per policy, policies interleaved; {meta['settle_s']:g} s settle before "
             f"each measurement. mbcas: {meta.get('mbcas') or 'not used'}.", "",
             "Cells: median (min–max) over the repetitions. req/s: all requests / all burst time; p50/p99: the "
             "median burst's. throttled s, used m (mean CPU used, millicores), alloc m (mean limit; no limit counts "
             "as the budget) and weight % (share of the pods' CFS weights) cover the measurement; changes (samples "
             "at which the pod's quota or weight had changed, 100 ms sampling), dir/min (reversals of their "
             "direction per minute) and the cap check (1 s windows sliding by 100 ms whose use exceeded the pod's "
             "cap by more than 10 %) cover the whole time the policy ran. [n/N runs]: only n of the N "
             "repetitions have the figure (burners to 90% s: the others never got there).", ""]
    for entry in summary["scenarios"]:
        lines += [f"## {entry['title']} ({entry['name']}), budget {entry['budget_m']}m", ""]
        pods = ", ".join(f"{p['name']} ({p['program'] or 'empty'}, {p['class']}, floor {p['floor_m']}m, cap {p['cap_m']}m, "
                         f"static {p['static_m']}m)" for p in entry["pods"])
        lines.append(f"Pods: {pods}" + (f"; {entry['idle_pods']} idle pods (floor 10m)" if entry["idle_pods"] else "") +
                     (f". Redis bursts: {entry['redis_requests_per_burst']} requests each." if entry["redis_requests_per_burst"] else "."))
        lines.append("")
        tables = [("Performance", _columns(entry, PERFORMANCE, ["share error %", "burners used m", "burners to 90% s",
                                                                "burners throttled s"])),
                  ("Allocation and writes", _columns(entry, BEHAVIOUR, ["burners alloc m", "burners changes", "burners dir/min",
                                                                        "idle changes max", "idle pods changed",
                                                                        "changes total", "dir/min max", "cap windows over",
                                                                        "cap peak %", "agent CPU %"]))]
        for title, columns in tables:
            lines += [f"**{title}**", "", "| policy | " + " | ".join(columns) + " |",
                      "| --- |" + " --: |" * len(columns)]
            for policy in entry["policies"]:
                cells = [_cell(policy["metrics"].get(k), k, policy["runs"]) for k in columns]
                lines.append(f"| {policy['policy']} | " + " | ".join(cells) + " |")
            lines.append("")
        errors = [(p["policy"], e) for p in entry["policies"] for e in p["errors"]]
        if errors:
            lines += ["Errors:", ""] + [f"- {policy} {error}" for policy, error in errors] + [""]
    lines += ["Policies:", ""] + [f"- `{name}`: {text}" for name, text in POLICY_DESCRIPTIONS.items()
                                  if name in meta["policies"]]
    return "\n".join(lines) + "\n"


def write(out, summary):
    with open(f"{out}/summary.json", "w") as handle:
        json.dump(summary, handle, indent=1)
    with open(f"{out}/summary.md", "w") as handle:
        handle.write(markdown(summary))
