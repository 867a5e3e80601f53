"""The local cluster does what the platform's manifests rely on: an image built here runs as a
Deployment whose readiness probe gates its Service, Service names resolve through CoreDNS from
another pod, and the metrics API (metrics-server, for the HPAs) answers."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from datetime import datetime
from pathlib import Path

import pytest

# The session's cluster comes up in the first test's setup: a cold cache builds it first (minutes).
pytestmark = pytest.mark.timeout(3600)

IMAGE = "microblog.local/k8s-smoke:1"
NAMESPACE = "k8s-smoke"

# An HTTP server in the Perl that Debian's minbase has: it answers 503 on /ready until its pod
# was up for READY_AFTER seconds (so the readiness probe has something to wait for), then 200.
SERVER = r"""
use strict; use IO::Socket::INET;
my $started = time; my $ready_after = $ENV{READY_AFTER} || 0;
open(my $fh, '<', '/etc/hostname'); my $name = <$fh>; chomp $name; close $fh;
my $server = IO::Socket::INET->new(LocalPort => 8080, Listen => 16, ReuseAddr => 1) or die "listen: $!";
$| = 1; print "listening on 8080 as $name\n";
while (my $client = $server->accept) {
    my $request = <$client> // ''; my ($path) = $request =~ m{^\S+ (\S+)};
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
    my ($status, $body) = (200, "hello from $name\n");
    ($status, $body) = (503, "warming up\n") if ($path // '') eq '/ready' && time - $started < $ready_after;
    print $client "HTTP/1.0 $status X\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    close $client;
}
"""

MANIFESTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {IMAGE}
        imagePullPolicy: Never
        command: [perl, /srv/server.pl]
        env: [{{name: READY_AFTER, value: "4"}}]
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 1, failureThreshold: 1}}
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: {NAMESPACE}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: {IMAGE}
    imagePullPolicy: Never
    command: [sleep, infinity]
"""


def image_archive(base: Path, target: Path) -> Path:
    """A `docker save` archive: Debian's minbase root filesystem plus a layer with the server."""
    extra = io.BytesIO()
    with tarfile.open(fileobj=extra, mode="w") as tar:
        data = SERVER.encode()
        info = tarfile.TarInfo("srv/server.pl")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    layers = [base.read_bytes(), extra.getvalue()]
    digests = [hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["bash"], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in digests]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    names = [f"{d}/layer.tar" for d in digests]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [IMAGE], "Layers": names}]).encode()
    with tarfile.open(target, "w") as tar:
        for name, data in [*zip(names, layers, strict=True), (config_name, config), ("manifest.json", manifest)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait_until(what: str, check, timeout: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="module")
def smoke(kubernetes, debian_base, tmp_path_factory):
    kubernetes.import_archive(image_archive(debian_base, tmp_path_factory.mktemp("image") / "smoke.tar"))
    kubernetes.kubectl("apply", "-f", "-", input=MANIFESTS)
    yield kubernetes
    kubernetes.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def test_readiness_probe_gates_the_service(smoke):
    pod = wait_until(
        "the web pod runs",
        lambda: smoke.kubectl("-n", NAMESPACE, "get", "pods", "-l", "app=web", "-o",
                              "jsonpath={.items[?(@.status.phase=='Running')].metadata.name}").strip(),
    )  # fmt: skip
    smoke.kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", f"pod/{pod}", "--timeout=120s")
    status = json.loads(smoke.kubectl("-n", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status}"))
    # The server answers /ready with 503 for its first 4 s: the pod turned Ready only after that.
    started = parse_time(status["containerStatuses"][0]["state"]["running"]["startedAt"])
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert parse_time(ready["lastTransitionTime"]) - started >= 3, (started, ready)
    pod_ip = status["podIP"]

    def ready_endpoint() -> list[str]:
        slices = json.loads(smoke.kubectl("-n", NAMESPACE, "get", "endpointslices", "-l",
                                          "kubernetes.io/service-name=web", "-o", "json"))  # fmt: skip
        return [
            address
            for s in slices["items"]
            for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready")
            for address in e["addresses"]
        ]

    assert wait_until("the Service lists the ready pod", ready_endpoint) == [pod_ip]


def test_service_name_resolves_through_coredns_from_another_pod(smoke):
    smoke.kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    smoke.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=120s")
    cluster_ip = smoke.kubectl("-n", NAMESPACE, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
    resolv = smoke.kubectl("-n", NAMESPACE, "exec", "client", "--", "cat", "/etc/resolv.conf")
    assert "nameserver 10.96.0.10" in resolv and f"search {NAMESPACE}.svc.cluster.local" in resolv

    answer = smoke.kubectl(
        "-n", NAMESPACE, "exec", "client", "--", "getent", "hosts", f"web.{NAMESPACE}.svc.cluster.local"
    )
    assert answer.split()[0] == cluster_ip

    # The short name through the search path, then a request to the Service (kube-proxy's rules).
    request = 'exec 3<>/dev/tcp/web/80; printf "GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n" >&3; cat <&3'
    reply = wait_until(
        "the Service answers from the client pod",
        lambda: smoke.kubectl("-n", NAMESPACE, "exec", "client", "--", "bash", "-c", request, check=False),
        timeout=60,
    )
    assert reply.startswith("HTTP/1.0 200") and "hello from web-" in reply, reply


def test_metrics_api_answers(smoke):
    smoke.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=120s")
    nodes = wait_until(
        "kubectl top node",
        lambda: smoke.kubectl("top", "node", "--no-headers", check=False).split(),
    )
    assert nodes[0] == "microblog-local"

    def web_pod_metrics() -> dict | None:
        raw = smoke.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods", check=False)
        items = json.loads(raw)["items"] if raw else []
        return next((i for i in items if i["metadata"]["name"].startswith("web-")), None)

    metrics = wait_until("the metrics API lists the web pod", web_pod_metrics, timeout=90)
    usage = metrics["containers"][0]["usage"]
    assert usage["memory"].endswith("Ki") and int(usage["memory"][:-2]) > 0, usage
    top = smoke.kubectl("-n", NAMESPACE, "top", "pod", "--no-headers")
    assert "web-" in top, top
