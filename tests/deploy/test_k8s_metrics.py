"""deploy/k8s metrics of the public pods: never on their public port, only on a `metrics` port
that Prometheus (the monitoring namespace) alone may reach, and that their annotations name."""

from __future__ import annotations

import pytest

from microblog_testkit.manifests import OVERLAYS, is_scraper, kind, pod_labels, pod_spec, selects

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize
PUBLIC_DEPLOYMENTS = ("gateway-api", "web-api")


def metrics_port(deployment: dict) -> int:
    (container,) = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert set(ports) == {"http", "metrics"} and ports["metrics"] != ports["http"], ports
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("MICROBLOG_METRICS_PORT") == str(ports["metrics"]), "the process serves metrics elsewhere"
    return ports["metrics"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_public_pods_serve_metrics_on_a_named_port_their_annotations_point_at(rendered, overlay):
    deployments, services = kind(rendered[overlay], "Deployment"), kind(rendered[overlay], "Service")
    for name in PUBLIC_DEPLOYMENTS:
        port = metrics_port(deployments[name])
        annotations = deployments[name]["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/port") == str(port), name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        # The Service (which the Ingress routes to) carries the public port only.
        assert [p["targetPort"] for p in services[name]["spec"]["ports"]] == ["http"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_monitoring_namespace_may_reach_the_metrics_port(rendered, overlay):
    docs = rendered[overlay]
    policies = list(kind(docs, "NetworkPolicy").values())
    for name in PUBLIC_DEPLOYMENTS:
        deployment = kind(docs, "Deployment")[name]
        labels, port = pod_labels(deployment), metrics_port(deployment)
        rules = [
            rule
            for p in policies
            if "Ingress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
            for rule in p["spec"].get("ingress", [])
        ]
        reaching = [r for r in rules if not r.get("ports") or {p.get("port") for p in r["ports"]} & {"metrics", port}]
        assert reaching, f"{overlay}: Prometheus can't scrape {name}"
        for rule in reaching:
            assert rule.get("from") and all(is_scraper(peer) for peer in rule["from"]), (
                f"{overlay}: {name}'s metrics port admits {rule.get('from', 'anyone')}"
            )
