"""deploy/k8s: every overlay renders, is valid Kubernetes, and runs every service of the repo.

Services are discovered from `services/`, their processes from the platform's own process table
(`SERVICES`), so a new service fails here until it is wired into every overlay.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from microblog_ops.layout import SERVICES

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize

# Oldest and newest Kubernetes minor versions the manifests are validated against.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.utils.latest_version()]
ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
SERVICE_DIRS = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
LAYOUTS = {layout.package: layout for layout in SERVICES}
PUBLIC = {"gateway", "web"}  # reachable through the Ingress; autoscaled on load
SCRAPER_NAMESPACE = "monitoring"
PORT = 8080


def layout(service_dir: str):
    package = service_dir.replace("-", "_")
    assert package in LAYOUTS, f"services/{service_dir} is missing from SERVICES (microblog_ops.layout)"
    return LAYOUTS[package]


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


def test_services_and_overlays_are_discovered():
    assert {"identity", "gateway"} <= set(SERVICE_DIRS)
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS + ["base"])
def test_every_rendered_document_is_valid_kubernetes(rendered, rendered_base, overlay, version):
    docs = rendered_base if overlay == "base" else rendered[overlay]
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {str(error).splitlines()[0]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service_dir", SERVICE_DIRS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_of_a_service_runs_as_a_probed_limited_deployment(rendered, overlay, service_dir):
    docs, package = rendered[overlay], service_dir.replace("-", "_")
    deployments, services = kind(docs, "Deployment"), kind(docs, "Service")
    for command in layout(service_dir).commands:
        name = f"{service_dir}-{command}"
        assert name in deployments, f"{overlay}: no Deployment {name}"
        spec = pod_spec(deployments[name])
        main = spec["containers"][0]
        assert main["name"] == command
        image, _, tag = main["image"].partition(":")
        assert image == f"microblog/{service_dir}" and tag and tag != "latest", main["image"]
        assert main["command"] == ["python", "-m", package]
        assert main["args"] == [command, "--host", "0.0.0.0", "--port", str(PORT)]
        assert {"name": "http", "containerPort": PORT} in main["ports"]
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert name in services and selects(
            {"matchLabels": services[name]["spec"]["selector"]}, pod_labels(deployments[name])
        ), f"{overlay}: no Service for {name}"
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_deployment_is_left_over_from_a_removed_process(rendered, overlay):
    expected = {f"{d}-{c}" for d in SERVICE_DIRS for c in layout(d).commands}
    assert {
        n for n, d in kind(rendered[overlay], "Deployment").items() if d in platform_workloads(rendered[overlay])
    } == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_within_limits_and_runs_hardened(rendered, overlay):
    workloads = [d for d in rendered[overlay] if d["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]
    platform = platform_workloads(rendered[overlay])
    for workload in workloads:
        where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in containers(spec):
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request, limit = resources["requests"][resource], resources["limits"][resource]
                assert quantity(request) <= quantity(limit), f"{where}: {resource} {request} > {limit}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            if workload in platform:
                assert context["readOnlyRootFilesystem"] is True, where


@pytest.mark.parametrize("service_dir", SERVICE_DIRS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_database_service_migrates_in_a_job_and_its_pods_wait_for_it(rendered, overlay, service_dir):
    docs, package = rendered[overlay], service_dir.replace("-", "_")
    jobs, deployments = kind(docs, "Job"), kind(docs, "Deployment")
    database_key = f"{service_dir}-database-url"
    if layout(service_dir).database is None:
        assert f"{service_dir}-migrate" not in jobs
        return
    job = jobs.get(f"{service_dir}-migrate")
    assert job, f"{overlay}: no migration Job for {service_dir}"
    steps = [pod_spec(job)["containers"][0]]
    for command in layout(service_dir).commands:
        init = pod_spec(deployments[f"{service_dir}-{command}"]).get("initContainers", [])
        assert [c["name"] for c in init] == ["migrate"], f"{service_dir}-{command} does not wait for migrations"
        steps.append(init[0])
    for step in steps:
        assert (
            step["image"]
            == pod_spec(deployments[f"{service_dir}-{layout(service_dir).commands[0]}"])["containers"][0]["image"]
        )
        assert (step["command"], step["args"]) == (["python", "-m", package], ["migrate"])
    for workload in [job] + [deployments[f"{service_dir}-{c}"] for c in layout(service_dir).commands]:
        urls = {(env, key) for env, _, key in secret_refs(pod_spec(workload)) if env == "MICROBLOG_DATABASE_URL"}
        assert urls == {("MICROBLOG_DATABASE_URL", database_key)}, workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_and_every_projector_autoscale_within_their_partitions(rendered, overlay):
    docs = rendered[overlay]
    partitions = int(generated(docs, "ConfigMap", "microblog-config")["data"]["MICROBLOG_BUS_PARTITIONS"])
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in kind(docs, "HorizontalPodAutoscaler").values()
    }
    deployments = kind(docs, "Deployment")
    scaled = [f"{d}-{c}" for d in SERVICE_DIRS for c in layout(d).commands if d in PUBLIC or c == "projector"]
    assert any(name.startswith("gateway-") for name in scaled)
    for name in scaled:
        assert name in autoscalers, f"{overlay}: no HorizontalPodAutoscaler for {name}"
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler owns its replicas"
        assert 1 <= autoscalers[name]["minReplicas"] <= autoscalers[name]["maxReplicas"]
        if name.endswith("-projector"):
            assert autoscalers[name]["maxReplicas"] <= partitions, (
                f"{overlay}: {name} may scale past the {partitions} partitions of its topics"
            )
    assert set(autoscalers) <= set(deployments)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(rendered, overlay):
    budgets = kind(rendered[overlay], "PodDisruptionBudget").values()
    for name, deployment in kind(rendered[overlay], "Deployment").items():
        matching = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert len(matching) == 1, f"{overlay}: {name} has {len(matching)} PodDisruptionBudgets"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_selects_pods_that_serve_its_ports(rendered, overlay):
    docs = rendered[overlay]
    pods = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    for name, service in kind(docs, "Service").items():
        if service["spec"].get("type") == "ExternalName":
            continue
        backing = [p for p in pods if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(p))]
        assert backing, f"{overlay}: Service {name} selects no pods"
        for port in service["spec"]["ports"]:
            for pod in backing:
                names = {p.get("name") for c in pod_spec(pod)["containers"] for p in c.get("ports", [])}
                assert port["targetPort"] in names, f"{overlay}: {name} targets {port['targetPort']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replay_job_templates_rebuild_every_projection(rendered, overlay):
    cronjobs = kind(rendered[overlay], "CronJob")
    for service_dir in SERVICE_DIRS:
        if "projector" not in layout(service_dir).commands:
            continue
        template = cronjobs.get(f"{service_dir}-replay")
        assert template, f"{overlay}: no replay template for {service_dir}"
        assert template["spec"]["suspend"] is True, "a template must never run on its schedule"
        container = pod_spec(template)["containers"][0]
        assert container["image"].startswith(f"microblog/{service_dir}:")
        assert container["command"] == ["microblog"] and container["args"][0] == "replay"
        assert len(container["args"]) == 2, "replay names its projection"
        assert ("MICROBLOG_DATABASE_URL", f"{service_dir}-database-url") in {
            (env, key) for env, _, key in secret_refs(pod_spec(template))
        }


def test_dev_runs_its_own_infrastructure_and_production_points_outside(rendered):
    dev, production = rendered["dev"], rendered["production"]
    assert set(kind(dev, "StatefulSet")) == {"kafka", "postgres", "elasticsearch"}
    assert all(s["spec"]["volumeClaimTemplates"] for s in kind(dev, "StatefulSet").values())
    assert not kind(production, "StatefulSet")
    external = {n for n, s in kind(production, "Service").items() if s["spec"].get("type") == "ExternalName"}
    assert external == {"kafka", "postgres", "elasticsearch"}


def test_dev_postgres_creates_every_database_the_services_use():
    created = set(re.findall(r"CREATE DATABASE (\w+);", (K8S / "overlays/dev/create-databases.sql").read_text()))
    secrets = dict(
        line.split("=", 1)
        for line in (K8S / "overlays/dev/dev-secrets.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for service_dir in SERVICE_DIRS:
        if layout(service_dir).database:
            url = secrets.get(f"{service_dir}-database-url")
            assert url, f"dev-secrets.env has no URL for {service_dir}"
            assert url.rsplit("/", 1)[1] in created, f"create-databases.sql does not create {url}"


# Traffic: NetworkPolicies and the Ingress.


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


def admits(policies, target: dict, source: dict) -> bool:
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

SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL")


def test_the_base_carries_no_secret_values(rendered_base):
    assert not kind(rendered_base, "Secret")
    for key, value in generated(rendered_base, "ConfigMap", "microblog-config")["data"].items():
        assert not SECRET_LIKE.search(key) and "@" not in value, key
    for workload in platform_workloads(rendered_base):
        for container in containers(pod_spec(workload)):
            literal = [e["name"] for e in container.get("env", []) if "value" in e and SECRET_LIKE.search(e["name"])]
            assert not literal, f"{workload['metadata']['name']}: {literal} given as plain values"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_reference_is_filled_and_every_secret_key_used(rendered, overlay):
    docs = rendered[overlay]
    secret = generated(docs, "Secret", "microblog-secrets")
    refs = [
        ref
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")
        for ref in secret_refs(pod_spec(d))
    ]
    assert {name for _, name, _ in refs} == {secret["metadata"]["name"]}
    assert {key for _, _, key in refs} == set(secret["data"]), f"{overlay}: Secret keys and references differ"


def test_dev_secrets_are_committed_placeholders(rendered):
    values = generated(rendered["dev"], "Secret", "microblog-secrets")["data"].values()
    assert all("dev-only" in base64.b64decode(v).decode() for v in values)


def test_production_secrets_come_only_from_an_ignored_file(kustomize, rendered, secret_stand_ins, tmp_path):
    assert "production" in secret_stand_ins, "production must take its Secret from secrets.env"
    data = generated(rendered["production"], "Secret", "microblog-secrets")["data"]
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == secret_stand_ins["production"]
    for overlay in secret_stand_ins:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"deploy/k8s/overlays/{overlay}/secrets.env"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"git does not ignore overlays/{overlay}/secrets.env"
        bare = tmp_path / overlay
        shutil.copytree(K8S, bare, ignore=shutil.ignore_patterns("secrets.env"))
        done = subprocess.run(
            [kustomize, "build", bare / "overlays" / overlay], capture_output=True, text=True, check=False
        )
        assert done.returncode != 0 and "secrets.env" in done.stderr, "rendered without its secrets.env"


# The web UI: a client of the gateway only, reached at `/`, its secrets shared with the gateway.


def egress_allowed(policies, source: dict, target: dict, port: int) -> bool | None:
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


needs_web = pytest.mark.skipif("web" not in SERVICE_DIRS, reason="no services/web yet")


@needs_web
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


@needs_web
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_web_signs_its_sessions_and_shares_the_proxy_secret_with_the_gateway(rendered, overlay):
    deployments = kind(rendered[overlay], "Deployment")
    refs = {
        name: {env: key for env, _, key in secret_refs(pod_spec(deployments[name]))}
        for name in ("web-api", "gateway-api")
    }
    assert refs["web-api"]["MICROBLOG_WEB_SECRET_KEY"] == "web-secret-key"
    assert refs["web-api"]["MICROBLOG_TRUSTED_PROXY_SECRET"] == refs["gateway-api"]["MICROBLOG_TRUSTED_PROXY_SECRET"]
    secret = generated(rendered[overlay], "Secret", "microblog-secrets")["data"]
    assert base64.b64decode(secret["trusted-proxy-secret"]) and base64.b64decode(secret["web-secret-key"])
    web = deployments["web-api"]
    rolling = web["spec"]["strategy"]
    assert rolling["type"] == "RollingUpdate" and rolling["rollingUpdate"]["maxUnavailable"] == 0
    assert pod_spec(web)["containers"][0]["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mails_link_to_the_host_the_ingress_serves(rendered, overlay):
    docs = rendered[overlay]
    (ingress,) = kind(docs, "Ingress").values()
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    tls = any(ingress["spec"].get("tls", []))
    public_url = generated(docs, "ConfigMap", "microblog-config")["data"]["MICROBLOG_PUBLIC_URL"]
    assert public_url == f"{'https' if tls else 'http'}://{hosts[0]}", f"{overlay}: reset links go to {public_url}"
