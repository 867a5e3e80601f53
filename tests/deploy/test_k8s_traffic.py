"""deploy/k8s traffic: NetworkPolicies admit exactly the callers each service has, the Ingress
serves `/` from the web UI and `/api` from the gateway, and the web reaches only the gateway."""

from __future__ import annotations

import re

import pytest

from microblog_testkit.manifests import (
    OVERLAYS,
    PORT,
    ROOT,
    SERVICE_DIRS,
    admits,
    egress_allowed,
    generated,
    is_scraper,
    kind,
    outside,
    platform_workloads,
    pod_labels,
    selects,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize
PUBLIC = {"gateway", "web"}  # reachable through the Ingress; autoscaled on load


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_public_services_are_reachable_from_outside_the_namespace(rendered, overlay):
    docs = rendered[overlay]
    policies = kind(docs, "NetworkPolicy").values()
    assert any(
        p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] and not p["spec"].get("ingress")
        for p in policies
    ), f"{overlay}: no default-deny policy"
    pods = [pod_labels(d) for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            peers = outside(rule)
            if peers == [] or (peers and all(is_scraper(p) for p in peers)):
                continue  # same namespace only, or Prometheus on the metrics port
            exposed = {
                labels["app.kubernetes.io/name"] for labels in pods if selects(policy["spec"]["podSelector"], labels)
            }
            assert exposed <= PUBLIC, f"{overlay}: {policy['metadata']['name']} exposes {exposed - PUBLIC}"
    gateway = pod_labels(kind(docs, "Deployment")["gateway-api"])
    assert any(
        selects(p["spec"]["podSelector"], gateway)
        and any(
            (outside(rule) or []) and not all(is_scraper(peer) for peer in outside(rule))
            for rule in p["spec"].get("ingress", [])
        )
        for p in policies
    ), "the ingress controller cannot reach the gateway"


# A service's API is what calls the services its settings name, except these workers.
WORKER_CALLERS = {("notifier", "MICROBLOG_POSTS_URL"): "mailer"}  # it attaches export files to mails
# URL settings that name no backend: where mails send people (the web UI, through the Ingress).
LINKS_ONLY = {"MICROBLOG_PUBLIC_URL"}


def callers() -> set[tuple[str, str]]:
    """(calling service dir, setting) for every `*_url` setting a service declares."""
    edges = set()
    for service_dir in SERVICE_DIRS:
        for settings in (ROOT / "services" / service_dir / "src").glob("*/settings.py"):
            edges |= {
                (service_dir, f"MICROBLOG_{field.upper()}_URL")
                for field in re.findall(r"^\s+(\w+)_url: str", settings.read_text(), re.MULTILINE)
            }
    return edges


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_internal_apis_admit_exactly_the_services_that_call_them(rendered, overlay):
    docs = rendered[overlay]
    config = generated(docs, "ConfigMap", "microblog-config")["data"]
    policies, services = kind(docs, "NetworkPolicy").values(), kind(docs, "Service")
    deployments = {n: d for n, d in kind(docs, "Deployment").items() if d in platform_workloads(docs)}
    allowed = {
        (
            f"{caller}-{WORKER_CALLERS.get((caller, key), 'api')}",
            config[key].removeprefix("http://").split(":")[0].split("/")[0],
        )
        for caller, key in callers()
        if key not in LINKS_ONLY and config.get(key, "").startswith("http://")
    }
    allowed = {(s, t) for s, t in allowed if "selector" in services[t]["spec"]}  # not servers outside
    assert ("gateway-api", "identity-api") in allowed
    for source_name, source in deployments.items():
        for target_name, target in deployments.items():
            if source is target:
                continue
            called = any(
                s == source_name and selects({"matchLabels": services[t]["spec"]["selector"]}, pod_labels(target))
                for s, t in allowed
            )
            if called or pod_labels(target)["app.kubernetes.io/name"] not in PUBLIC:
                assert admits(policies, pod_labels(target), pod_labels(source)) == called, (
                    f"{overlay}: {source_name} -> {target_name} should be {'open' if called else 'closed'}"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_sends_api_to_the_gateway(rendered, overlay):
    docs = rendered[overlay]
    (ingress,) = kind(docs, "Ingress").values()
    routes = {p["path"]: p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert routes["/api"] == {"name": "gateway-api", "port": {"name": "http"}}
    if "web" in SERVICE_DIRS:
        assert routes.get("/", {}).get("name", "").startswith("web-"), "the web UI is not routed at /"
    for backend in routes.values():
        assert backend["port"]["name"] in {p["name"] for p in kind(docs, "Service")[backend["name"]]["spec"]["ports"]}


# Secrets: none committed.


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_web_may_call_the_gateway_and_nothing_else_of_the_platform(rendered, overlay):
    docs = rendered[overlay]
    policies = kind(docs, "NetworkPolicy").values()
    web = pod_labels(kind(docs, "Deployment")["web-api"])
    pods = {d["metadata"]["name"]: pod_labels(d) for d in docs if d["kind"] in ("Deployment", "StatefulSet")}
    for name, labels in pods.items():
        if name == "web-api":
            continue
        assert egress_allowed(policies, web, labels, PORT) is (name == "gateway-api"), f"{overlay}: web -> {name}"
    for port in (5432, 9092, 9200):  # the dev overlay's PostgreSQL, Kafka, Elasticsearch
        assert not any(egress_allowed(policies, web, labels, port) for labels in pods.values()), port
    rules = [
        r
        for p in policies
        if "Egress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], web)
        for r in p["spec"]["egress"]
    ]
    assert all(r.get("to") for r in rules), "an egress rule without peers lets the web reach anything"
    assert any({"port": 53, "protocol": "UDP"} in r.get("ports", []) for r in rules), "the web cannot resolve names"
    assert admits(policies, pods["gateway-api"], web), f"{overlay}: the gateway does not admit the web"
    config = generated(docs, "ConfigMap", "microblog-config")["data"]
    assert config["MICROBLOG_GATEWAY_URL"] == "http://gateway-api"
