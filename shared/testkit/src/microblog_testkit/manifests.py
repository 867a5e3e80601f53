"""Reading rendered Kubernetes manifests in tests: workloads, pods, selectors, network policies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from microblog_dev.checkout import repo_root

ROOT: Path = repo_root()
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
SERVICE_DIRS = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
SCRAPER_NAMESPACE = "monitoring"  # where Prometheus runs: the one namespace let in to scrape /metrics
PORT = 8080  # every process serves HTTP here


def kind(docs: list[dict], name: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == name}


def generated(docs: list[dict], kind_name: str, name: str) -> dict:
    """A ConfigMap or Secret from a generator (its name carries a hash suffix)."""
    found = [
        d for d in docs if d["kind"] == kind_name and re.fullmatch(rf"{name}(-[a-z0-9]{{10}})?", d["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one {kind_name} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    template = (
        workload["spec"]["jobTemplate"]["spec"]["template"]
        if workload["kind"] == "CronJob"
        else workload["spec"]["template"]
    )
    return template["metadata"].get("labels", {})


def selects(selector: dict | None, labels: dict) -> bool:
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not matched:
            return False
    return True


def quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, f"not a Kubernetes quantity: {value!r}"
    return float(match[1]) * units.get(match[2], 1)


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def platform_workloads(docs: list[dict]) -> list[dict]:
    """Deployments, Jobs and CronJobs running the platform's own images."""
    return [
        d
        for d in docs
        if d["kind"] in ("Deployment", "Job", "CronJob")
        and all(c["image"].startswith("microblog/") for c in containers(pod_spec(d)))
    ]


def secret_refs(spec: dict) -> list[tuple[str, str, str]]:
    """(env name, secret name, key) of every secretKeyRef in a pod."""
    return [
        (e["name"], e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for c in containers(spec)
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]


def outside(rule: dict) -> list[dict] | None:
    """The peers of an ingress rule that lie outside the namespace (None: the rule admits anyone)."""
    if not rule.get("from"):
        return None
    return [peer for peer in rule["from"] if "namespaceSelector" in peer or "ipBlock" in peer]


def is_scraper(peer: dict) -> bool:
    return (
        peer.get("namespaceSelector") == {"matchLabels": {"kubernetes.io/metadata.name": SCRAPER_NAMESPACE}}
        and "podSelector" not in peer
    )


def admits(policies: Iterable[dict], target: dict, source: dict) -> bool:
    """Whether some policy lets pods labelled `source` (same namespace) reach `target` on its HTTP port."""
    for policy in policies:
        if not selects(policy["spec"]["podSelector"], target):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            if (not ports or ports & {"http", PORT}) and any(
                "namespaceSelector" not in peer and selects(peer.get("podSelector"), source)
                for peer in rule.get("from", [])
            ):
                return True
    return False


def egress_allowed(policies: Iterable[dict], source: dict, target: dict, port: int) -> bool | None:
    """Whether pods labelled `source` may open connections to pods labelled `target` (same
    namespace) on `port`; None when no policy restricts the source's egress at all."""
    restricting = [
        p for p in policies if "Egress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], source)
    ]
    if not restricting:
        return None
    for policy in restricting:
        for rule in policy["spec"].get("egress", []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            if not rule.get("to") or any(
                "namespaceSelector" not in peer and "ipBlock" not in peer and selects(peer.get("podSelector"), target)
                for peer in rule["to"]
            ):
                return True
    return False
