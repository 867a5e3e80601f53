#!/usr/bin/env bash
# CI stage: the dev overlay on a real single-node Kubernetes cluster, and the e2e suite against it.
# Runs after the compose stage (deploy/ci/compose_stage.sh) and reuses its images: nothing is
# built here but what the cluster launcher caches once (its binaries, in ~/.cache/microblog).
#
#   1. a Docker engine holding the compose stage's images (dockerd started if none runs);
#   2. `pytest tests/k8s` with MICROBLOG_REQUIRE_KUBERNETES=1 (a missing part fails, never skips;
#      test_cluster.py checks the cluster itself first, test_dev_overlay.py the platform on it):
#      the fixtures bring the cluster up (`python -m deploy.local.kubernetes up`), load the images
#      (`load`: microblog/<service> as the dev overlay's microblog/<service>:dev, and compose's CI
#      infrastructure images), `kubectl apply -k deploy/k8s/overlays/local`, wait for every
#      migration Job and every pod, open `kubectl port-forward` to the gateway, the web UI and
#      Mailpit on 127.0.0.1, and run `pytest tests/e2e` with MICROBLOG_E2E_URL,
#      MICROBLOG_E2E_WEB_URL and MICROBLOG_MAILPIT_URL; the run's "measurements" section gives
#      each step's time and the cluster's memory; a failed wait prints the pods, events and logs;
#   3. always: `down` (the fixture tears the cluster down; this script does it again in case
#      pytest itself was killed), and the dockerd this stage started is stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${MICROBLOG_CACHE:-$HOME/.cache/microblog}
started=$(date +%s)
dockerd_pid=""
uv=$(command -v uv || echo .tools/bin/uv)

log() { echo "[kubernetes-stage +$(( $(date +%s) - started ))s] $*"; }
mkdir -p "$CACHE"

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "a Docker engine is running already"
    return
  fi
  log "starting dockerd (log: $CACHE/dockerd.log)"
  setsid dockerd >"$CACHE/dockerd.log" 2>&1 < /dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 40 "$CACHE/dockerd.log"; exit 1; }
    sleep 0.5
  done
  log "dockerd did not answer within 60 s"; tail -n 40 "$CACHE/dockerd.log"; exit 1
}

finish() {
  local code=$?
  trap - EXIT
  if ! python3 -m deploy.local.kubernetes down >/dev/null 2>&1; then
    log "the cluster's teardown left something behind: python3 -m deploy.local.kubernetes status"
    [ "$code" != 0 ] || code=1
  fi
  if [ -n "$dockerd_pid" ]; then
    log "stopping the dockerd this stage started"
    kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  fi
  log "kubernetes stage $([ "$code" = 0 ] && echo passed || echo "failed ($code)") in $(( $(date +%s) - started )) s"
  exit "$code"
}
trap finish EXIT

start_engine
log "the dev overlay on a local cluster, and the e2e suite through port-forward"
MICROBLOG_REQUIRE_KUBERNETES=1 "$uv" run --frozen pytest tests/k8s -p no:cacheprovider \
  --basetemp "${TMPDIR:-/tmp}/kubernetes-stage-pytest" -q
