"""Policy: RBAC grants, pod security contexts, and the overlays' differences from deploy/."""
from deploy_common import NAMESPACE, Report, at, name_of
from deploy_schemas import check_schemas


# What each component uses, and nothing more: scope ("cluster" or a namespace), API group,
# resource, verbs. The README and the RBAC manifests document the same sets.
AGENT_SA = ("mbcas-agent", NAMESPACE)
CONTROLLER_SA = ("mbcas-controller", NAMESPACE)
EXPECTED_GRANTS = {
    AGENT_SA: {
        ("cluster", "", "pods"): {"list", "watch"},
        ("cluster", "mbcas.io", "podallocations"): {"create", "patch", "list", "watch"},
        ("cluster", "", "nodes"): {"get", "watch"},
    },
    CONTROLLER_SA: {
        ("cluster", "", "pods"): {"list", "watch"},
        ("cluster", "", "pods/resize"): {"patch"},
        ("cluster", "mbcas.io", "podallocations"): {"list", "watch"},
        ("cluster", "mbcas.io", "podallocations/status"): {"patch"},
        ("cluster", "", "events"): {"create", "patch"},
        (NAMESPACE, "coordination.k8s.io", "leases"): {"get", "create", "update"},
    },
}
AGENT_CAPABILITIES = {"BPF", "PERFMON", "SYS_RESOURCE"}
# Host paths the agent may mount: "rw", "ro" (read-only) or "rro" (recursively read-only, for a
# tree with mounts below it: the cgroup v1 controllers under /sys/fs/cgroup).
AGENT_HOST_PATHS = {"/sys/fs/bpf": "rw", "/sys/fs/cgroup": "rro", "/sys/kernel/btf": "ro"}
# The agent's flag that writes the pods' cgroups: it needs the cgroup tree read-write, and only it may.
DIRECT_RAISE_FLAG = "--direct-cgroup-raise"
CGROUP_ROOT = "/sys/fs/cgroup"


def collect_grants(objects, report):
    """Each ServiceAccount's grants through the bindings: {(name, namespace): {(scope, group, resource): verbs}}.
    Wildcards, aggregation, foreign subjects, dangling and unbound roles are reported."""
    roles = {}
    for obj in objects:
        if obj.get("kind") not in ("Role", "ClusterRole"):
            continue
        where = name_of(obj)
        if obj.get("aggregationRule"):
            report.fail(where, "aggregationRule: its rules would come from other roles, unchecked")
        for index, rule in enumerate(obj.get("rules") or []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                if any("*" in value for value in rule.get(field) or []):
                    report.fail(where, f"rules[{index}].{field}: wildcard {rule[field]}")
            if rule.get("nonResourceURLs"):
                report.fail(where, f"rules[{index}]: nonResourceURLs are not used by MBCAS")
        scope = "cluster" if obj["kind"] == "ClusterRole" else obj["metadata"].get("namespace")
        roles[(obj["kind"], obj["metadata"]["name"], scope)] = obj

    granted = {subject: {} for subject in EXPECTED_GRANTS}
    bound = set()
    for binding in objects:
        if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        where = name_of(binding)
        ref = binding["roleRef"]
        scope = "cluster" if binding["kind"] == "ClusterRoleBinding" else binding["metadata"].get("namespace")
        role = roles.get((ref["kind"], ref["name"], "cluster" if ref["kind"] == "ClusterRole" else scope))
        if role is None:
            report.fail(where, f"binds {ref['kind']} {ref['name']}, which is not in these manifests")
            continue
        bound.add(id(role))
        for subject in binding.get("subjects") or []:
            key = (subject.get("name"), subject.get("namespace"))
            if subject.get("kind") != "ServiceAccount" or key not in granted:
                report.fail(where, f"subject {subject} is not one of MBCAS's ServiceAccounts")
                continue
            for rule in role.get("rules") or []:
                for group in rule.get("apiGroups") or []:
                    for resource in rule.get("resources") or []:
                        granted[key].setdefault((scope, group, resource), set()).update(rule.get("verbs") or [])
    for key, role in roles.items():
        if id(role) not in bound:
            report.fail(name_of(role), "bound to nothing (dead RBAC hides what is really granted)")
    return roles, granted


def grants_json(objects):
    """What each ServiceAccount may do, as JSON for the end-to-end tests, which run the binaries
    under exactly these grants against the test API server."""
    _, granted = collect_grants(objects, Report("grants"))
    return {f"{namespace}/{name}": [{"scope": scope, "apiGroup": group, "resource": resource, "verbs": sorted(verbs)}
                                    for (scope, group, resource), verbs in sorted(targets.items())]
            for (name, namespace), targets in granted.items()}


def check_rbac(objects):
    report = Report("rbac")
    roles, granted = collect_grants(objects, report)

    for subject, expected in EXPECTED_GRANTS.items():
        actual = granted[subject]
        who = f"ServiceAccount {subject[1]}/{subject[0]}"
        for target in sorted(set(actual) | set(expected)):
            extra = actual.get(target, set()) - expected.get(target, set())
            missing = expected.get(target, set()) - actual.get(target, set())
            scope, group, resource = target
            what = f"{resource} (group \"{group}\", {'cluster-wide' if scope == 'cluster' else 'namespace ' + scope})"
            if extra:
                report.fail(who, f"granted {sorted(extra)} on {what}, which MBCAS does not use")
            if missing:
                report.fail(who, f"lacks {sorted(missing)} on {what}, which MBCAS needs")
    return report.finish(f"{len(roles)} roles, no wildcard; each ServiceAccount has exactly the documented grants")


def pod_templates(objects):
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Pod":
            yield obj, obj.get("spec") or {}
        elif kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
            yield obj, obj["spec"]["template"].get("spec") or {}
        elif kind == "CronJob":
            yield obj, obj["spec"]["jobTemplate"]["spec"]["template"].get("spec") or {}


def capability_names(values):
    return {str(value).upper().removeprefix("CAP_") for value in values or []}


def check_container_basics(report, where, pod, container):
    """Rules for every container: the API's own securityContext rules, no privilege."""
    sc = container.get("securityContext") or {}
    pod_sc = pod.get("securityContext") or {}
    added = capability_names((sc.get("capabilities") or {}).get("add"))
    if sc.get("privileged"):
        report.fail(where, "privileged: true")
    if sc.get("allowPrivilegeEscalation") is False and "SYS_ADMIN" in added:
        report.fail(where, "allowPrivilegeEscalation false with SYS_ADMIN: refused by the API (CAP_SYS_ADMIN) "
                           "and meaningless, since no_new_privs does not bind a holder of CAP_SYS_ADMIN")
    if sc.get("readOnlyRootFilesystem") is not True:
        report.fail(where, "readOnlyRootFilesystem must be true")
    if capability_names((sc.get("capabilities") or {}).get("drop")) != {"ALL"}:
        report.fail(where, "capabilities.drop must be [ALL]")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        report.fail(where, f"seccompProfile must be RuntimeDefault (is {seccomp})")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            report.fail(where, f"{field}: true")
    for mount in container.get("volumeMounts") or []:
        if mount.get("mountPropagation") == "Bidirectional":
            report.fail(where, f"volumeMount {mount['name']}: Bidirectional propagation (needs privileged)")
    return sc, pod_sc, added


def check_agent(report, obj, pod, allow_sys_admin):
    expected = AGENT_CAPABILITIES | ({"SYS_ADMIN"} if allow_sys_admin else set())
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod.get("volumes") or [] if v.get("hostPath")}
    for path in host_paths.values():
        if path not in AGENT_HOST_PATHS:
            report.fail(name_of(obj), f"hostPath {path} is not one the agent needs")
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        where = f"{name_of(obj)} container {container['name']}"
        sc, _, added = check_container_basics(report, where, pod, container)
        if added != expected:
            report.fail(where, f"capabilities.add is {sorted(added)}, expected exactly {sorted(expected)}")
        escalation = sc.get("allowPrivilegeEscalation")
        if "SYS_ADMIN" not in added and escalation is not False:
            report.fail(where, "allowPrivilegeEscalation must be false")
        if sc.get("runAsUser", (pod.get("securityContext") or {}).get("runAsUser")) != 0:
            report.fail(where, "runAsUser must be 0: the image defaults to 65532, and BPF needs root here")
        direct = DIRECT_RAISE_FLAG in (container.get("command") or []) + (container.get("args") or [])
        for mount in container.get("volumeMounts") or []:
            if direct and host_paths.get(mount["name"]) == CGROUP_ROOT:
                if mount.get("readOnly"):
                    report.fail(where, f"{DIRECT_RAISE_FLAG} writes the pods' cgroups: hostPath {CGROUP_ROOT} must be "
                                "mounted read-write (read-only, every direct write fails with EROFS)")
                continue
            mode = AGENT_HOST_PATHS.get(host_paths.get(mount["name"]), "rw")
            if mode != "rw" and not mount.get("readOnly"):
                report.fail(where, f"hostPath {host_paths[mount['name']]} must be mounted readOnly")
            if mode == "rro" and mount.get("recursiveReadOnly") not in ("IfPossible", "Enabled"):
                report.fail(where, f"hostPath {host_paths[mount['name']]} must be recursiveReadOnly (it has mounts below it)")
    if pod.get("priorityClassName") != "system-node-critical":
        report.fail(name_of(obj), "priorityClassName must be system-node-critical")
    if not any(t.get("operator") == "Exists" and not t.get("key") for t in pod.get("tolerations") or []):
        report.fail(name_of(obj), "needs a toleration {operator: Exists} to run on every node")


def check_restricted(report, obj, pod):
    for volume in pod.get("volumes") or []:
        if volume.get("hostPath"):
            report.fail(name_of(obj), f"hostPath volume {volume['name']}")
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        where = f"{name_of(obj)} container {container['name']}"
        sc, pod_sc, added = check_container_basics(report, where, pod, container)
        if added:
            report.fail(where, f"adds capabilities {sorted(added)}; the controller needs none")
        if sc.get("allowPrivilegeEscalation") is not False:
            report.fail(where, "allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            report.fail(where, "runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            report.fail(where, "runAsUser 0")


CRITICAL_CLASSES = ("system-node-critical", "system-cluster-critical")


def check_critical_quota(report, objects, obj, pod):
    """A critical priority class outside kube-system needs a ResourceQuota in the pod's namespace
    whose scopeSelector matches the class (PriorityClass In [...]) and that allows pods:
    clusters that limit the critical classes admit such pods only then."""
    priority = pod.get("priorityClassName")
    namespace = obj["metadata"].get("namespace")
    if priority not in CRITICAL_CLASSES or namespace == "kube-system":
        return
    for quota in objects:
        if quota.get("kind") != "ResourceQuota" or quota["metadata"].get("namespace") != namespace:
            continue
        spec = quota.get("spec") or {}
        expressions = (spec.get("scopeSelector") or {}).get("matchExpressions") or []
        matches = any(e.get("scopeName") == "PriorityClass" and e.get("operator") == "In" and priority in (e.get("values") or [])
                      for e in expressions)
        if matches and "pods" in (spec.get("hard") or {}):
            return
    report.fail(name_of(obj), f"priorityClassName {priority} in namespace {namespace} needs a ResourceQuota there whose "
                              f"scopeSelector is PriorityClass In [{priority}] with hard.pods (else clusters that "
                              "limit critical classes never admit its pods)")


def check_security(objects, allow_sys_admin=False, label="security"):
    report = Report(label)
    count = 0
    for obj, pod in pod_templates(objects):
        count += 1
        check_critical_quota(report, objects, obj, pod)
        if obj["kind"] == "DaemonSet" and obj["metadata"]["name"] == "mbcas-agent":
            check_agent(report, obj, pod, allow_sys_admin)
        else:
            check_restricted(report, obj, pod)
            if obj["kind"] == "Deployment" and (obj["spec"].get("replicas") or 1) < 2:
                report.fail(name_of(obj), "fewer than 2 replicas: leader election has no standby")
    if not any(o["kind"] == "DaemonSet" and o["metadata"]["name"] == "mbcas-agent" for o, _ in pod_templates(objects)):
        report.fail("DaemonSet mbcas-agent", "missing")
    caps = sorted(AGENT_CAPABILITIES | ({"SYS_ADMIN"} if allow_sys_admin else set()))
    return report.finish(f"{count} workloads: the agent adds only {', '.join(caps)} (drops ALL), "
                         "others run non-root with no capabilities; none privileged, read-only roots")


def differences(base, other, path=()):
    if isinstance(base, dict) and isinstance(other, dict):
        for key in sorted(set(base) | set(other)):
            yield from differences(base.get(key), other.get(key), path + (key,))
    elif isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        for index, (a, b) in enumerate(zip(base, other)):
            yield from differences(a, b, path + (index,))
    elif base != other:
        yield path, base, other


def overlay_changes(report, base_objects, overlay_objects):
    """(object key, path, base value, overlay value) for each difference; objects in only one fail."""
    key = lambda o: (o.get("kind"), (o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name"))
    base = {key(o): o for o in base_objects}
    overlay = {key(o): o for o in overlay_objects}
    for missing in sorted(set(base) ^ set(overlay), key=str):
        report.fail(f"{missing[0]} {missing[2]}", "in only one of deploy/ and the overlay")
    changed = []
    for k in sorted(set(base) & set(overlay), key=str):
        for path, was, now in differences(base[k], overlay[k]):
            changed.append((k, path, was, now))
    return changed, base


AGENT = ("DaemonSet", NAMESPACE, "mbcas-agent")
AGENT_CONTAINER = ("spec", "template", "spec", "containers", 0)


def check_overlay(base_objects, overlay_objects):
    report = Report("overlay")
    changed, _ = overlay_changes(report, base_objects, overlay_objects)
    container = AGENT_CONTAINER + ("securityContext",)
    allowed = {
        (AGENT, container + ("capabilities", "add")),
        (AGENT, container + ("allowPrivilegeEscalation",)),
    }
    for k, path, was, now in changed:
        if (k, path) not in allowed:
            report.fail(f"{k[0]} {k[2]}", f"{at(path)} differs: {was!r} -> {now!r}")
        elif path[-1] == "add" and capability_names(now) - capability_names(was) != {"SYS_ADMIN"}:
            report.fail(f"{k[0]} {k[2]}", f"{at(path)}: {was} -> {now}, expected SYS_ADMIN added and nothing else")
    if not any(path[-1] == "add" for _, path, _, _ in changed):
        report.fail("DaemonSet mbcas-agent", "the overlay does not add SYS_ADMIN")
    ok = report.finish("differs from deploy/ only by SYS_ADMIN on the agent "
                       "(and allowPrivilegeEscalation, which the API requires with it)")
    ok &= check_schemas(overlay_objects, label="overlay schemas")
    ok &= check_security(overlay_objects, allow_sys_admin=True, label="overlay security")
    return ok


def check_direct_raise_overlay(base_objects, overlay_objects):
    """overlays/direct-cgroup-raise: the agent's flag, and its cgroup mount read-write; nothing else."""
    report = Report("direct-raise overlay")
    changed, base = overlay_changes(report, base_objects, overlay_objects)
    mounts = AGENT_CONTAINER + ("volumeMounts",)
    base_mounts = at_path(base.get(AGENT), mounts) or []
    for k, path, was, now in changed:
        if k == AGENT and path == AGENT_CONTAINER + ("args",):
            if now != (was or []) + [DIRECT_RAISE_FLAG]:
                report.fail(f"{k[0]} {k[2]}", f"{at(path)}: {was} -> {now}, expected {DIRECT_RAISE_FLAG} appended and nothing else")
        elif (k == AGENT and path[:len(mounts)] == mounts and len(path) == len(mounts) + 2
              and path[-1] in ("readOnly", "recursiveReadOnly") and path[-2] < len(base_mounts)
              and base_mounts[path[-2]].get("mountPath") == CGROUP_ROOT):
            pass  # the cgroup tree read-write; check_security holds the flag and the mount together
        else:
            report.fail(f"{k[0]} {k[2]}", f"{at(path)} differs: {was!r} -> {now!r}")
    if not any(k == AGENT and path == AGENT_CONTAINER + ("args",) for k, path, _, _ in changed):
        report.fail("DaemonSet mbcas-agent", f"the overlay does not add {DIRECT_RAISE_FLAG}")
    ok = report.finish(f"differs from deploy/ only by {DIRECT_RAISE_FLAG} and {CGROUP_ROOT} mounted read-write on the agent")
    ok &= check_schemas(overlay_objects, label="direct-raise overlay schemas")
    ok &= check_security(overlay_objects, label="direct-raise overlay security")
    return ok


def at_path(obj, path):
    for step in path:
        if isinstance(obj, dict):
            obj = obj.get(step)
        elif isinstance(obj, list) and isinstance(step, int) and step < len(obj):
            obj = obj[step]
        else:
            return None
    return obj
