"""A real single-node Kubernetes cluster on this machine, built from Go modules.

    python -m deploy.local.kubernetes build             # build and cache the binaries and images (once)
    python -m deploy.local.kubernetes up                # start everything; prints KUBECONFIG= and KUBECTL=
    python -m deploy.local.kubernetes load IMAGE[=AS]...  # docker save IMAGE... | ctr import (and tag AS)
    python -m deploy.local.kubernetes import FILE...    # import image archives (docker save / OCI)
    python -m deploy.local.kubernetes status            # which daemons run; the node and pods
    python -m deploy.local.kubernetes down              # stop everything and remove every trace

Run from the repository's root as root (containerd, iptables, mounts). The binaries are cached
in ~/.cache/microblog/kubernetes-<version>/ (MICROBLOG_KUBERNETES_CACHE); the running cluster
keeps its state in /var/tmp/microblog-kubernetes (MICROBLOG_KUBERNETES_STATE or --state-dir),
which `down` removes. One cluster per machine: it uses fixed ports (6443, 2379, 10250) and the
`cni0` bridge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import build, cluster, host, versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.kubernetes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=None, help="default: %(default)s")
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("build", help="build what the cache lacks")
    built.add_argument("--keep-go-cache", action="store_true", help="keep Go's module and build caches")
    commands.add_parser("up", help="start the cluster (building first if needed)")
    loading = commands.add_parser("load", help="copy images from the Docker engine into the cluster")
    loading.add_argument("images", nargs="+", metavar="IMAGE[=AS]", help="an image, or one and its name in the cluster")
    importing = commands.add_parser("import", help="import image archives (docker save or OCI) into the cluster")
    importing.add_argument("archives", nargs="+", type=Path)
    commands.add_parser("status", help="the daemons, the node, the pods")
    commands.add_parser("down", help="stop and remove everything")
    args = parser.parse_args(argv)
    state = (args.state_dir or cluster.default_state()).resolve()

    if args.command == "build":
        print(build.ensure_built(args.keep_go_cache))
        return 0
    if args.command == "up":
        print(f"KUBECONFIG={cluster.up(state)}", flush=True)
        print(f"KUBECTL={versions.bin_dir() / 'kubectl'}", flush=True)
        return 0
    if args.command == "load":
        cluster.load(state, args.images)
        return 0
    if args.command == "import":
        for archive in args.archives:
            cluster.import_archive(state, archive)
        return 0
    if args.command == "down":
        return 1 if cluster.down(state) else 0
    daemons = cluster.status(state)
    for name, pid in daemons.items():
        print(f"{name:24} {'pid ' + str(pid) if pid else 'not running'}")
    if daemons["kube-apiserver"]:
        print(cluster.kubectl(state, "get", "nodes,pods", "-A", "-o", "wide", check=False))
    else:
        left = host.leftovers(state)
        print("left on the host: " + (", ".join(left) if left else "nothing"))
    missing = build.missing()
    print(f"cache {versions.cache_root()}: " + (f"missing {', '.join(missing)}" if missing else "complete"))
    return 0 if all(daemons.values()) or not any(daemons.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
