"""summary.png: per scenario, the latency-sensitive (or headline) figure per policy as bars at the
median with min–max whiskers. timeseries-<scenario>.png: each busy pod's use and limit over one
repetition, one panel per policy."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"static": "#7f7f7f", "static-burst": "#bcbd22", "fair": "#1f77b4", "fair-weighted": "#17becf",
           "koordinator": "#9467bd", "agent-poll": "#ff7f0e", "agent-push": "#d62728", "agent-push-hints": "#8c564b"}
PODS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]


def _save(fig, path, dpi):
    """A small PNG: reduced to a 64-colour palette when Pillow is there (results go into git)."""
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    try:
        from PIL import Image
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=64).save(path, optimize=True)
    except ImportError:
        pass
    return path


def _headlines(entry):
    """(title, metric keys) pairs to show for a scenario."""
    keys = []
    for policy in entry["policies"]:
        keys += [k for k in policy["metrics"] if k not in keys]
    req = [k for k in keys if k.endswith(" req/s")]
    p99 = [k for k in keys if k.endswith(" p99 ms")]
    if len(req) > 1:  # servers of different scales (nginx, redis): each against its own static median
        return [("requests/s during bursts, relative to static", req), ("p99 latency (median burst), relative to static", p99)]
    if req:
        return [("requests/s during bursts", req), ("p99 latency, ms (median burst)", p99)]
    if "share error %" in keys:
        used = [k for k in keys if k.endswith(" used m")]
        return [("CPU used, millicores (weights 1:2:4)", used), ("share error vs weights, %", ["share error %"])]
    return [("burners' CPU used, millicores", ["burners used m"]), ("seconds until the burners had 90 % of fair's CPU",
                                                                      ["burners to 90% s"])]


def _bars(axis, entry, keys, title):
    policies = [p for p in entry["policies"] if p["runs"]]
    width = 0.8 / max(1, len(keys))
    static = next((p for p in policies if p["policy"] == "static"), None)
    for k_index, key in enumerate(keys):
        scale = 1.0
        if "relative to static" in title:
            base = static and static["metrics"].get(key, {}).get("median")
            if not base:
                continue
            scale = 1.0 / base
        xs, heights, low, high = [], [], [], []
        for p_index, policy in enumerate(policies):
            stats = policy["metrics"].get(key)
            if not stats or stats["n"] == 0:
                continue
            xs.append(p_index + (k_index - (len(keys) - 1) / 2) * width)
            heights.append(stats["median"] * scale)
            low.append((stats["median"] - stats["min"]) * scale)
            high.append((stats["max"] - stats["median"]) * scale)
        # One figure: bars in the policies' colours; several: one colour per figure, with a legend.
        single = len(keys) == 1
        colours = [COLOURS.get(policies[round(x)]["policy"], "#333333") for x in xs] if single else PODS[k_index % len(PODS)]
        axis.bar(xs, heights, width * 0.9, yerr=[low, high], capsize=2, color=colours,
                 label=None if single else key.rsplit(" ", 2)[0])
    axis.set_xticks(range(len(policies)))
    axis.set_xticklabels([p["policy"] for p in policies], rotation=30, ha="right", fontsize=7)
    axis.set_title(title, fontsize=9)
    axis.tick_params(axis="y", labelsize=7)
    if "relative to static" in title:
        axis.axhline(1.0, color="black", linewidth=0.6)
    if len(keys) > 1:
        axis.legend(fontsize=7)


def plot_summary(summary, path):
    entries = summary["scenarios"]
    fig, axes = plt.subplots(len(entries), 2, figsize=(11, 3.1 * len(entries)), squeeze=False)
    for row, entry in zip(axes, entries):
        for axis, (title, keys) in zip(row, _headlines(entry)):
            _bars(axis, entry, keys, f"{entry['name']}: {title}")
    fig.tight_layout()
    return _save(fig, path, dpi=80)


def plot_timeseries(scenario_name, runs, path):
    """One repetition (the first that succeeded) per policy."""
    chosen = {}
    for run in runs:
        if run["scenario"] == scenario_name and "series" in run and run["policy"] not in chosen:
            chosen[run["policy"]] = run
    if not chosen:
        return None
    fig, axes = plt.subplots(len(chosen), 1, figsize=(10, 1.7 * len(chosen) + 0.6), sharex=True, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, (policy, run) in zip(axes[:, 0], chosen.items()):
        series = run["series"]
        for index, name in enumerate(series["used_m"]):
            colour = colours[index % len(colours)]
            axis.plot(series["t"], series["used_m"][name], color=colour, linewidth=0.8, label=f"{name} used")
            quota = [q if q is not None else float("nan") for q in series["quota_m"][name]]
            axis.plot(series["t"], quota, color=colour, linewidth=1.2, linestyle="--", label=f"{name} limit")
        axis.set_ylabel(policy, fontsize=7)
        axis.tick_params(labelsize=7)
        axis.axvline(0, color="black", linewidth=0.5)
    axes[0, 0].legend(fontsize=6, ncol=4, loc="upper left")
    axes[-1, 0].set_xlabel("seconds from the measurement's start (millicores per 100 ms; dashed: limit)", fontsize=8)
    fig.tight_layout()
    return _save(fig, path, dpi=72)


def plot_all(out, summary, runs):
    paths = [plot_summary(summary, os.path.join(out, "summary.png"))]
    for entry in summary["scenarios"]:
        paths.append(plot_timeseries(entry["name"], runs, os.path.join(out, f"timeseries-{entry['name']}.png")))
    return [p for p in paths if p]
