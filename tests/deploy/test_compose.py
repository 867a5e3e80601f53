"""docker-compose.yml: the internal secret reaches every platform container but the web UI's, the
metrics of the public containers stay inside the compose network (never published to the host),
and the processes issue 18 replicates run twice."""

from __future__ import annotations

import yaml

from microblog_testkit.manifests import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # merge keys (<<) resolved
SERVICES = COMPOSE["services"]
PLATFORM = {name: s for name, s in SERVICES.items() if str(s.get("image", "")).startswith("microblog/")}


def published_container_ports(service: dict) -> set[str]:
    """The container side of every `ports` entry (`[host_ip:]host_port:container_port`)."""
    return {str(entry).rsplit(":", 1)[-1].split("/")[0] for entry in service.get("ports", [])}


def test_every_platform_container_but_the_web_s_gets_the_internal_secret():
    assert {"gateway-api", "posts-api", "notifier-mailer", "web-api"} <= set(PLATFORM)
    for name, service in PLATFORM.items():
        secret = service.get("environment", {}).get("MICROBLOG_INTERNAL_SECRET")
        if name == "web-api":
            assert secret is None, "the web UI calls the public API only: it must not sign callers"
        else:
            assert secret and "not-for-production" in secret, name  # a placeholder, overridable


def test_public_containers_keep_metrics_inside_the_compose_network():
    for name in ("gateway-api", "web-api"):
        service = SERVICES[name]
        port = service["environment"]["MICROBLOG_METRICS_PORT"]
        assert int(port) > 0 and port != "8080", name
        assert port not in published_container_ports(service), f"{name} publishes its metrics port"
        assert port in [str(p) for p in service.get("expose", [])], f"{name} does not expose {port} to the network"
        assert published_container_ports(service) == {"8080"}, name
    for name, service in PLATFORM.items():  # no other container publishes anything of the platform
        assert not service.get("ports") or name in ("gateway-api", "web-api"), name


def test_the_posts_api_its_relay_and_the_timeline_projector_run_as_two_replicas():
    """Issue 18: nothing in them assumes a single instance; the fault drill kills one of each."""
    replicated = {name for name, s in PLATFORM.items() if s.get("deploy", {}).get("replicas", 1) > 1}
    assert replicated == {"posts-api", "posts-relay", "timeline-projector"}
    for name in replicated:  # replicas can't share a fixed name or a host port
        assert "container_name" not in SERVICES[name] and not SERVICES[name].get("ports"), name
