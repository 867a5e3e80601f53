"""A real single-node Kubernetes cluster built from Go modules (see cli.py)."""
