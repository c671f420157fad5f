"""Schemas: Kubernetes objects against kubernetes-validate's JSON schemas, the CRD against the
API server's structural rules, and custom objects (PodAllocations) against the CRD."""
import copy
import datetime
import os
import re

import jsonschema
import kubernetes_validate

from deploy_common import OLDEST, Report, at, load, name_of

def crd_schema(crd):
    versions = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return versions[0]["schema"]["openAPIV3Schema"] if versions else None


def structural_problems(crd):
    """What kube-apiserver refuses in a CRD that the CRD's own JSON schema cannot express."""
    problems = []
    spec = crd["spec"]
    if crd["metadata"]["name"] != f"{spec['names']['plural']}.{spec['group']}":
        problems.append("metadata.name must be <plural>.<group>")
    if sum(1 for v in spec["versions"] if v.get("storage")) != 1:
        problems.append("exactly one version must have storage: true")

    def walk(node, path):
        if node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if "type" not in node:
            problems.append(f"{at(path)}: no type (a structural schema types every node)")
        if "pattern" in node:
            re.compile(node["pattern"])
        if node.get("x-kubernetes-list-type") == "map":
            required = set(node.get("items", {}).get("required", []))
            for key in node.get("x-kubernetes-list-map-keys", []):
                if key not in required:
                    problems.append(f"{at(path)}: list-map key {key} must be required")
        for key, child in (node.get("properties") or {}).items():
            walk(child, path + [key])
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + ["items"])

    for version in spec["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        walk(schema, [version["name"]])
        if set((schema.get("properties", {}).get("metadata") or {}).keys()) - {"type"}:
            problems.append("metadata may only be {type: object}: the API server owns its schema")
        for column in version.get("additionalPrinterColumns", []):
            if not resolves(schema, column["jsonPath"]):
                problems.append(f"printer column {column['name']}: {column['jsonPath']} is not in the schema")
    return problems


def resolves(schema, json_path):
    """Whether a printer column's simple JSONPath (.a.b[0].c) names a field of the schema."""
    node = schema
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", json_path):
        if part[0]:
            if part[0] in ("metadata",) and node is schema:
                return True  # ObjectMeta: the API server's schema
            node = (node.get("properties") or {}).get(part[0])
        else:
            node = node.get("items") if node.get("type") == "array" else None
        if node is None:
            return False
    return True


def closed(schema):
    """The schema with unknown fields refused, as kubectl's strict field validation does
    (the API server would otherwise prune them silently)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for child in (node.get("properties") or {}).values():
            walk(child)
        walk(node.get("items"))

    walk(schema)
    return schema


FORMATS = jsonschema.FormatChecker(formats=())
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@FORMATS.checks("date-time")
def is_date_time(value):
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@FORMATS.checks("int64")
def is_int64(value):
    return not isinstance(value, int) or -2**63 <= value < 2**63


def validate_custom(obj, crd):
    """Problems of one custom object against its CRD: metadata as the API server checks it,
    then the openAPIV3Schema (types, patterns, enums, required, formats, unknown fields)."""
    problems = []
    meta = obj.get("metadata") or {}
    if not DNS_SUBDOMAIN.match(str(meta.get("name", ""))):
        problems.append("metadata.name: not a DNS subdomain")
    if crd["spec"]["scope"] == "Namespaced" and not meta.get("namespace"):
        problems.append("metadata.namespace: required for a namespaced kind")
    body = {k: v for k, v in obj.items() if k != "metadata"}
    validator = jsonschema.Draft4Validator(closed(crd_schema(crd)), format_checker=FORMATS)
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        problems.append(f"{at(error.absolute_path)}: {error.message}")
    problems += duplicate_map_keys(crd_schema(crd), body, [])
    return problems


def duplicate_map_keys(schema, value, path):
    """x-kubernetes-list-type map: the API server refuses two items with the same keys."""
    problems = []
    if isinstance(value, dict):
        for key, child in value.items():
            sub = (schema.get("properties") or {}).get(key)
            if sub:
                problems += duplicate_map_keys(sub, child, path + [key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        if schema.get("x-kubernetes-list-type") == "map":
            keys = [tuple(str(item.get(k)) for k in schema.get("x-kubernetes-list-map-keys", []))
                    for item in value if isinstance(item, dict)]
            for dup in sorted({k for k in keys if keys.count(k) > 1}):
                problems.append(f"{at(path)}: duplicate entry {', '.join(dup)}")
        for index, item in enumerate(value):
            problems += duplicate_map_keys(schema["items"], item, path + [index])
    return problems


def crds_by_kind(objects):
    return {(o["spec"]["group"], o["spec"]["names"]["kind"]): o
            for o in objects if o.get("kind") == "CustomResourceDefinition"}


def custom_crd(obj, crds):
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return crds.get((group, obj.get("kind")))


# ---------------------------------------------------------------------------------------------

def check_schemas(objects, label="schemas"):
    report = Report(label)
    versions = [OLDEST, kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version())]
    crds = crds_by_kind(objects)
    kinds = set()
    for obj in objects:
        kinds.add(obj.get("kind"))
        crd = custom_crd(obj, crds)
        if crd is not None:
            for problem in validate_custom(obj, crd):
                report.fail(name_of(obj), f"against its CRD: {problem}")
            continue
        if obj.get("kind") == "CustomResourceDefinition":
            for problem in structural_problems(obj):
                report.fail(name_of(obj), problem)
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                report.fail(name_of(obj), f"Kubernetes {version} (strict): {at(error.absolute_path)}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                report.fail(name_of(obj), error.message)
    return report.finish(f"{len(objects)} objects ({', '.join(sorted(kinds))}) valid against "
                         f"Kubernetes {' and '.join(versions)} strict schemas and their CRDs")


def check_crd_samples(crd_path, samples, expect_invalid):
    report = Report("crd-sample")
    crds = crds_by_kind(load(crd_path))
    if not crds:
        report.fail(crd_path, "no CustomResourceDefinition")
    for path in samples:
        for obj in load(path):
            crd = custom_crd(obj, crds)
            problems = ["no CRD for this kind"] if crd is None else validate_custom(obj, crd)
            where = f"{os.path.basename(path)} {name_of(obj)}"
            if expect_invalid and not problems:
                report.fail(where, "accepted, but it is meant to be invalid")
            for problem in ([] if expect_invalid else problems):
                report.fail(where, problem)
            if expect_invalid and problems:
                print(f"rejected {where}: {'; '.join(problems)}")
    outcome = "rejected as expected" if expect_invalid else "valid against the CRD's openAPIV3Schema"
    return report.finish(f"{len(samples)} sample file(s) {outcome}")

