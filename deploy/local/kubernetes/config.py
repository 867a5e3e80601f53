"""Configuration files of the node: containerd, the bridge CNI network, the kubelet, kube-proxy."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from . import versions

NODE_NAME = "microblog-local"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/12"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
BRIDGE = "cni0"
CNI_NETWORK = "microblog-local"
CNI_BIN_DIR = "/usr/lib/cni"


def replace(text: str, pattern: str, value: str) -> str:
    changed, count = re.subn(pattern, value, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"`containerd config default` has no line matching {pattern!r}")
    return changed


def containerd(state: Path) -> Path:
    """containerd's defaults with a private root, state and socket, and what this VM needs."""
    text = subprocess.run(["containerd", "config", "default"], capture_output=True, text=True, check=True).stdout
    text = replace(text, r'^root = ".*"$', f'root = "{state / "containerd" / "root"}"')
    text = replace(text, r'^state = ".*"$', f'state = "{state / "containerd" / "state"}"')
    text = replace(text, r'^(\s*)address = "/run/containerd/containerd.sock"$', f'\\1address = "{socket(state)}"')
    text = replace(text, r'sandbox_image = ".*"', f'sandbox_image = "{versions.PAUSE_IMAGE}"')
    # Root here lacks CAP_SYS_RESOURCE: the kubelet's -998 for sandboxes must be clamped, or runc fails.
    text = replace(text, r"restrict_oom_score_adj = false", "restrict_oom_score_adj = true")
    # Pod network namespaces under our state directory, so that teardown finds every one of them.
    text = replace(text, r"netns_mounts_under_state_dir = false", "netns_mounts_under_state_dir = true")
    text = replace(text, r'^(\s*)bin_dir = ".*"$', f'\\1bin_dir = "{CNI_BIN_DIR}"')
    text = replace(text, r'^(\s*)conf_dir = ".*"$', f'\\1conf_dir = "{state / "cni" / "net.d"}"')
    text = replace(text, r'^(\s*)path = "/opt/containerd"$', f'\\1path = "{state / "containerd" / "opt"}"')
    target = state / "containerd" / "config.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def socket(state: Path) -> Path:
    return state / "containerd" / "containerd.sock"


def cni(state: Path) -> None:
    conflist = {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(state / "cni" / "ipam"),
                },
            },
            # Accepts the pods' traffic in FORWARD (a Docker engine on the host sets its policy to DROP).
            {"type": "firewall", "backend": "iptables"},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }
    folder = state / "cni" / "net.d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "10-microblog.conflist").write_text(json.dumps(conflist, indent=2))


def kubelet(state: Path, pki: Path) -> Path:
    settings = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{socket(state)}",
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(state / "pod-logs"),
        # A small shared disk: evict only when it is really full, keep images.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "maxPods": 60,
        "serializeImagePulls": False,
        "podPidsLimit": -1,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "shutdownGracePeriod": "0s",
    }
    target = state / "kubelet" / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(settings, indent=2))
    return target


def kube_proxy(state: Path, kubeconfig: Path) -> Path:
    settings = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": "127.0.0.1",
        "metricsBindAddress": "127.0.0.1:10249",
        "healthzBindAddress": "127.0.0.1:10256",
        # Leave the machine's conntrack sysctls alone (they are not ours to change here).
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    target = state / "kube-proxy.json"
    target.write_text(json.dumps(settings, indent=2))
    return target
