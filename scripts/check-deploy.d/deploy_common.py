"""Shared by the deploy checks: paths, rendering deploy/ with kubectl, and the report format."""
import os
import shutil
import subprocess
import sys

import yaml

# This file is scripts/check-deploy.d/deploy_common.py.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
OVERLAY = os.path.join(DEPLOY, "overlays", "pre-5.8-kernel")
DIRECT_RAISE_OVERLAY = os.path.join(DEPLOY, "overlays", "direct-cgroup-raise")
DASHBOARD = os.path.join(DEPLOY, "grafana", "mbcas-agent.json")
METRICS_SOURCE = os.path.join(ROOT, "Sources", "MetricsEndpoint", "AgentMetrics.swift")
NAMESPACE = "mbcas-system"
# 1.33: the first release with the pods/resize subresource on by default (MBCAS's minimum).
OLDEST = "1.33"


class Report:
    """Collects one check's failures; prints them and an ok/FAIL line."""

    def __init__(self, check):
        self.check, self.failures = check, []

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")

    def finish(self, summary):
        for failure in self.failures:
            print(f"FAIL {self.check}: {failure}")
        if not self.failures:
            print(f"ok {self.check}: {summary}")
        return not self.failures


def render(directory):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        sys.exit("check-deploy: kubectl not found (it renders deploy/ with `kubectl kustomize`)")
    result = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"FAIL render: kubectl kustomize {os.path.relpath(directory, ROOT)}: {result.stderr.strip()}")
        sys.exit(1)
    return result.stdout


def load(path, directory=DEPLOY):
    if path is None:
        text = render(directory)
    else:
        text = sys.stdin.read() if path == "-" else open(path).read()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def name_of(obj):
    meta = obj.get("metadata") or {}
    prefix = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {prefix}{meta.get('name')}"


def at(path):
    return ".".join(str(part) for part in path) or "(root)"

