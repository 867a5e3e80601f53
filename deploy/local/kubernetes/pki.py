"""The cluster's certificates (openssl only) and one kubeconfig per client."""

from __future__ import annotations

import subprocess
from pathlib import Path

# name: (common name, organisation); each becomes <name>.crt/.key signed by the cluster CA.
CLIENTS = {
    "admin": ("kubernetes-admin", "system:masters"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    "front-proxy-client": ("front-proxy-client", ""),
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-proxy": ("system:kube-proxy", ""),
}


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def issue(pki: Path, name: str, subject: str, extensions: str) -> None:
    openssl("genrsa", "-out", f"{name}.key", "2048", cwd=pki)
    openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=pki)
    (pki / f"{name}.ext").write_text(extensions)
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "30", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=pki,
    )  # fmt: skip
    (pki / f"{name}.csr").unlink()
    (pki / f"{name}.ext").unlink()


def make(pki: Path, node_name: str, node_ip: str, service_ip: str) -> None:
    """Everything the control plane and the node need; done once per state directory."""
    if (pki / "done").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    openssl("genrsa", "-out", "ca.key", "2048", cwd=pki)
    openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-days", "30", "-subj", "/CN=microblog-local-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", "ca.crt", cwd=pki,
    )  # fmt: skip
    openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    client = (
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
    )
    server = (
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
    sans = ",".join(
        [*(f"DNS:{n}" for n in [*names, "localhost", node_name]), "IP:127.0.0.1", f"IP:{service_ip}", f"IP:{node_ip}"]
    )
    issue(pki, "apiserver", "/CN=kube-apiserver", server + f"subjectAltName={sans}\n")
    issue(
        pki,
        "kubelet-serving",
        f"/CN={node_name}",
        server + f"subjectAltName=DNS:{node_name},IP:{node_ip},IP:127.0.0.1\n",
    )
    for name, (common, organisation) in CLIENTS.items():
        subject = f"/CN={common}" + (f"/O={organisation}" if organisation else "")
        issue(pki, name, subject, client)
    issue(pki, "kubelet", f"/CN=system:node:{node_name}/O=system:nodes", client)
    for key in pki.glob("*.key"):
        key.chmod(0o600)
    (pki / "done").write_text("")


def kubeconfig(pki: Path, name: str, server: str, target: Path) -> Path:
    """A kubeconfig for client `name` that refers to the certificate files (no inline secrets)."""
    target.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    certificate-authority: {pki / "ca.crt"}
    server: {server}
users:
- name: {name}
  user:
    client-certificate: {pki / f"{name}.crt"}
    client-key: {pki / f"{name}.key"}
contexts:
- name: local
  context: {{cluster: local, user: {name}}}
current-context: local
"""
    )
    return target
