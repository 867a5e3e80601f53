"""deploy/k8s workloads: every overlay renders, is valid Kubernetes, and runs every service of the repo.

Services are discovered from `services/`, their processes from the platform's own process table
(`SERVICES`), so a new service fails here until it is wired into every overlay.
"""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

from microblog_ops.layout import SERVICES
from microblog_testkit.manifests import (
    K8S,
    OVERLAYS,
    PORT,
    SERVICE_DIRS,
    containers,
    generated,
    kind,
    platform_workloads,
    pod_labels,
    pod_spec,
    quantity,
    secret_refs,
    selects,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize
PUBLIC = {"gateway", "web"}  # reachable through the Ingress; autoscaled on load

# Oldest and newest Kubernetes minor versions the manifests are validated against.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.utils.latest_version()]
LAYOUTS = {layout.package: layout for layout in SERVICES}


def layout(service_dir: str):
    package = service_dir.replace("-", "_")
    assert package in LAYOUTS, f"services/{service_dir} is missing from SERVICES (microblog_ops.layout)"
    return LAYOUTS[package]


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
