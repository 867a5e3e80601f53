"""deploy/k8s secrets: none in the base, every reference filled, production's only from an ignored file,
and the web's shared with the gateway where they must match."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from microblog_testkit.manifests import (
    K8S,
    OVERLAYS,
    ROOT,
    containers,
    generated,
    kind,
    platform_workloads,
    pod_spec,
    secret_refs,
)

pytestmark = pytest.mark.timeout(900)  # the first run builds kustomize
PUBLIC = {"gateway", "web"}  # reachable through the Ingress; autoscaled on load


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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_container_but_the_web_s_shares_the_internal_secret(rendered, overlay):
    """The gateway signs the caller it forwards with it and every service checks it; the web UI, a
    client of the public API only, must not be able to sign anybody."""
    docs = rendered[overlay]
    secret = generated(docs, "Secret", "microblog-secrets")["data"]
    assert base64.b64decode(secret["internal-secret"])
    for workload in platform_workloads(docs):
        for container in containers(pod_spec(workload)):
            refs = {
                e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
                for e in container.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            name = f"{workload['metadata']['name']}/{container['name']}"
            if container["image"].startswith("microblog/web"):
                assert "MICROBLOG_INTERNAL_SECRET" not in refs, name
            else:
                assert refs.get("MICROBLOG_INTERNAL_SECRET") == "internal-secret", name
