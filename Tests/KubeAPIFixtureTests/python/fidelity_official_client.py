"""Holds MBCAS's loopback test API server to the official Python `kubernetes` client (PyPI).

Usage: fidelity_official_client.py http://127.0.0.1:PORT

Run by OfficialPythonClientTests against a fresh server started with a history of 12 events.
Each check is what a real API server answers to that client call; the first mismatch stops
the script with a message naming it and exit status 1. Prints "all checks passed" at the end.
"""
import sys
import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

NAMESPACE = "default"
GROUP, VERSION, PLURAL = "mbcas.io", "v1alpha1", "podallocations"


class Mismatch(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Mismatch(message)


def expect_status(code, call, what):
    try:
        call()
    except ApiException as error:
        check(error.status == code, f"{what}: expected HTTP {code}, got {error.status}: {error.body}")
        return error
    raise Mismatch(f"{what}: expected HTTP {code}, the call succeeded")


def pod(name, node="node-a", labels=None, cpu="500m", guaranteed=False):
    resources = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    if guaranteed:
        resources["limits"] = {"cpu": cpu, "memory": "64Mi"}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox", "resources": resources}]},
    }


def names(pod_list):
    return [item.metadata.name for item in pod_list.items]


def check_create_get_list(core):
    created = core.create_namespaced_pod(NAMESPACE, pod("web-0", labels={"app": "web"}))
    check(created.metadata.generation == 1, f"create: generation {created.metadata.generation}, want 1")
    check(created.status.phase == "Pending", f"create: phase {created.status.phase}, want Pending")
    check(created.status.qos_class == "Burstable", f"create: qosClass {created.status.qos_class}")
    core.create_namespaced_pod(NAMESPACE, pod("web-1", labels={"app": "web"}))
    core.create_namespaced_pod(NAMESPACE, pod("web-2", node="node-b", labels={"app": "web"}))
    core.create_namespaced_pod(NAMESPACE, pod("db-0", node="node-b", labels={"app": "db"}, guaranteed=True))
    expect_status(409, lambda: core.create_namespaced_pod(NAMESPACE, pod("web-0")), "create of an existing pod")

    got = core.read_namespaced_pod("web-0", NAMESPACE)
    check(got.metadata.uid == created.metadata.uid, "get: another uid than create returned")
    check(got.metadata.resource_version == created.metadata.resource_version, "get: another resourceVersion")
    expect_status(404, lambda: core.read_namespaced_pod("missing", NAMESPACE), "get of a missing pod")

    by_label = core.list_namespaced_pod(NAMESPACE, label_selector="app=web")
    check(names(by_label) == ["web-0", "web-1", "web-2"], f"label selector app=web: {names(by_label)}")
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-b")
    check(names(on_node) == ["db-0", "web-2"], f"field selector spec.nodeName=node-b: {names(on_node)}")
    expect_status(400, lambda: core.list_namespaced_pod(NAMESPACE, field_selector="spec.hostname=x"),
                  "field selector on an unsupported field")

    first = core.list_namespaced_pod(NAMESPACE, limit=3)
    token = first.metadata._continue
    check(len(first.items) == 3 and token, f"limit=3: {len(first.items)} items, continue {token!r}")
    check(first.metadata.remaining_item_count == 1, f"remainingItemCount {first.metadata.remaining_item_count}, want 1")
    rest = core.list_namespaced_pod(NAMESPACE, limit=3, _continue=token)
    check(not rest.metadata._continue, "the last page still has a continue token")
    check(rest.metadata.resource_version == first.metadata.resource_version,
          "a continued list must keep the first page's resourceVersion")
    check(names(first) + names(rest) == ["db-0", "web-0", "web-1", "web-2"], f"pages: {names(first)} + {names(rest)}")
    return created


def check_replace_and_patches(core, created):
    fresh = core.read_namespaced_pod("web-0", NAMESPACE)
    fresh.metadata.labels["tier"] = "front"
    replaced = core.replace_namespaced_pod("web-0", NAMESPACE, fresh)
    check(int(replaced.metadata.resource_version) > int(created.metadata.resource_version), "replace: resourceVersion did not grow")
    created.metadata.labels["tier"] = "stale"
    conflict = expect_status(409, lambda: core.replace_namespaced_pod("web-0", NAMESPACE, created), "replace with a stale resourceVersion")
    check('"reason":"Conflict"' in conflict.body.replace(" ", ""), f"409 body is not a Conflict Status: {conflict.body}")

    # A dict body is sent as a strategic merge patch by CoreV1Api.
    strategic = core.patch_namespaced_pod("web-0", NAMESPACE, {"metadata": {"labels": {"tier": None, "patched": "strategic"}}})
    check(strategic.metadata.labels == {"app": "web", "patched": "strategic"}, f"strategic merge: labels {strategic.metadata.labels}")
    merged = core.patch_namespaced_pod("web-0", NAMESPACE, {"metadata": {"annotations": {"a": "1"}}},
                                       _content_type="application/merge-patch+json")
    check(merged.metadata.annotations == {"a": "1"}, f"merge patch: annotations {merged.metadata.annotations}")
    # A list body is sent as a JSON patch.
    json_patched = core.patch_namespaced_pod("web-0", NAMESPACE, [{"op": "replace", "path": "/metadata/annotations/a", "value": "2"}])
    check(json_patched.metadata.annotations == {"a": "2"}, f"JSON patch: annotations {json_patched.metadata.annotations}")
    expect_status(422, lambda: core.patch_namespaced_pod("web-0", NAMESPACE, [{"op": "test", "path": "/metadata/annotations/a", "value": "9"}]),
                  "a failing JSON patch test operation")

    status = core.patch_namespaced_pod_status("web-0", NAMESPACE, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    check([c.type for c in status.status.conditions] == ["Ready"], "status patch: conditions")
    check(status.metadata.generation == 1, "a status write must not bump the generation")


def check_resize(core):
    resized = core.patch_namespaced_pod_resize(
        "web-1", NAMESPACE, {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "750m"}}}]}})
    requests = resized.spec.containers[0].resources.requests
    check(requests == {"cpu": "750m", "memory": "64Mi"}, f"resize: requests {requests}")
    check(resized.metadata.generation == 2, f"resize: generation {resized.metadata.generation}, want 2")
    # db-0 is Guaranteed; a request below its limit would make it Burstable.
    error = expect_status(422, lambda: core.patch_namespaced_pod_resize(
        "db-0", NAMESPACE, {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}}}]}}),
        "a resize changing the QoS class")
    check("Pod QOS Class may not change" in error.body, f"422 message: {error.body}")
    expect_status(422, lambda: core.patch_namespaced_pod(
        "web-1", NAMESPACE, {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]}}),
        "changing resources through the pod instead of pods/resize")


def check_watch(core):
    start = core.list_namespaced_pod(NAMESPACE).metadata.resource_version
    core.patch_namespaced_pod("web-2", NAMESPACE, {"metadata": {"labels": {"seen": "yes"}}})
    core.delete_namespaced_pod("web-2", NAMESPACE)

    def later():
        time.sleep(0.5)
        core.create_namespaced_pod(NAMESPACE, pod("live-0"))
    threading.Thread(target=later).start()
    events = [(e["type"], e["object"].metadata.name)
              for e in watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version=start, timeout_seconds=2)]
    check(events == [("MODIFIED", "web-2"), ("DELETED", "web-2"), ("ADDED", "live-0")],
          f"watch from resourceVersion {start}: {events}")

    # More writes than the history keeps (12): resourceVersion 1 is compacted away.
    for index in range(12):
        core.patch_namespaced_pod("live-0", NAMESPACE, {"metadata": {"labels": {"n": str(index)}}})
    error = expect_status(410, lambda: list(watch.Watch().stream(core.list_namespaced_pod, NAMESPACE, resource_version="1",
                                                                 timeout_seconds=2)),
                          "watch from a compacted resourceVersion")
    check("Expired" in str(error.reason), f"410 reason: {error.reason}")


def check_custom_objects(custom):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PodAllocation", "metadata": {"name": "web-0"},
            "spec": {"containers": [{"name": "app", "cpuLimit": "500m"}], "reason": "guardrail"}}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, body)
    check(created["metadata"]["generation"] == 1, "custom object create: generation")
    check("status" not in created, "custom object create must drop status (status subresource)")
    got = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "web-0")
    check(got["spec"] == body["spec"], f"custom object get: spec {got['spec']}")

    status = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, NAMESPACE, PLURAL, "web-0", {"status": {"phase": "Applied"}, "spec": {"reason": "ignored"}})
    check(status["status"] == {"phase": "Applied"}, f"status patch: status {status.get('status')}")
    check(status["spec"]["reason"] == "guardrail", "a status patch must not change spec")
    check(status["metadata"]["generation"] == 1, "a status patch must not bump the generation")

    spec = custom.patch_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "web-0", {"spec": {"reason": "market"}})
    check(spec["spec"]["reason"] == "market" and spec["metadata"]["generation"] == 2, "custom object merge patch")
    expect_status(415, lambda: custom.patch_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, PLURAL, "web-0", {"spec": {}}, _content_type="application/strategic-merge-patch+json"),
        "strategic merge on a custom resource")


def check_events(core):
    event = {"metadata": {"name": "web-0.resized"}, "type": "Normal", "reason": "Resized", "message": "cpu 500m -> 750m",
             "involvedObject": {"kind": "Pod", "namespace": NAMESPACE, "name": "web-0", "apiVersion": "v1"},
             "source": {"component": "mbcas-controller"}}
    core.create_namespaced_event(NAMESPACE, event)
    listed = core.list_namespaced_event(NAMESPACE, field_selector="involvedObject.name=web-0")
    check([e.reason for e in listed.items] == ["Resized"], f"events for web-0: {[e.reason for e in listed.items]}")


def check_nodes(core):
    # Cluster-scoped: the client's paths have no namespace; its models read allocatable.
    core.create_node({"metadata": {"name": "n1"}})
    core.patch_node_status("n1", {"status": {"allocatable": {"cpu": "1930m"}, "capacity": {"cpu": "2"}}})
    node = core.read_node("n1")
    check(node.metadata.namespace is None, f"a node has a namespace: {node.metadata.namespace}")
    check(node.status.allocatable == {"cpu": "1930m"}, f"allocatable: {node.status.allocatable}")
    check([n.metadata.name for n in core.list_node(field_selector="metadata.name=n1").items] == ["n1"], "nodes by name")
    expect_status(404, lambda: core.read_node("missing"), "get of a missing node")


def main(url):
    api = client.ApiClient(client.Configuration(host=url))
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    created = check_create_get_list(core)
    check_replace_and_patches(core, created)
    check_resize(core)
    check_custom_objects(custom)
    check_events(core)
    check_nodes(core)
    check_watch(core)
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        main(sys.argv[1])
    except Mismatch as mismatch:
        sys.exit(f"MISMATCH: {mismatch}")
