#!/usr/bin/env bash
# CI stage: the whole platform under `docker compose`, built from this checkout, and the e2e suite
# against it. On a machine where no image registry is reachable it makes what it needs itself and
# caches the slow parts outside the repository (MICROBLOG_CACHE, default ~/.cache/microblog):
#
#   1. a Docker engine: Debian's docker.io, dockerd started in the background (no systemd);
#   2. the Compose v2 plugin, built from its Go module once;
#   3. the base images `debian:bookworm-slim` (every image) and `debian:trixie-slim` (the CI
#      Elasticsearch, for Java 21), made by debootstrap from Debian's archive and trusting what
#      this machine trusts (its CA bundle), unless such images are there already;
#   4. `docker compose -f docker-compose.yml -f deploy/compose/ci.yml up --build --wait`: the
#      override swaps only the infrastructure images for ones built from packages;
#   5. `pytest tests/e2e` with MICROBLOG_E2E_URL pointing at the gateway and MICROBLOG_E2E_WEB_URL
#      at the web UI (its browser tests drive Debian's Chromium), then the fault drill
#      (`tests/drill`, with MICROBLOG_COMPOSE naming the compose command), which kills containers;
#   6. every container's logs when anything failed, and always `down -v`.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${MICROBLOG_CACHE:-$HOME/.cache/microblog}
COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_VERSION=v2.40.3
GATEWAY_PORT=${MICROBLOG_GATEWAY_PORT:-8000}
WEB_PORT=${MICROBLOG_WEB_PORT:-5000}
PROJECT=microblog-ci
compose=(docker compose -p "$PROJECT" -f docker-compose.yml -f deploy/compose/ci.yml)
started=$(date +%s)
dockerd_pid=""
stack_up=0

log() { echo "[compose-stage +$(( $(date +%s) - started ))s] $*"; }
mkdir -p "$CACHE"

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

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

install_compose_plugin() {
  local plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
  local binary=$CACHE/compose-$COMPOSE_VERSION/docker-compose
  if [ ! -x "$binary" ]; then
    local go
    go=$(command -v go || echo /usr/local/go/bin/go)
    [ -x "$go" ] || { log "the Go toolchain is needed to build the Compose plugin (go on PATH)"; exit 1; }
    log "building Compose $COMPOSE_VERSION from its Go module (a few minutes, once)"
    local dir
    dir=$("$go" mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$(dirname "$binary")"
    # `go install` refuses this module (its go.mod has exclude directives): build in its folder.
    (cd "$dir" && "$go" build -trimpath -o "$binary.partial" \
       -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" ./cmd)
    mv "$binary.partial" "$binary"
  fi
  mkdir -p "$plugins"
  ln -sf "$binary" "$plugins/docker-compose"
  log "$(docker compose version)"
}

make_base_image() {
  local suite=$1 image=debian:$1-slim
  local bundle=/etc/ssl/certs/ca-certificates.crt
  local digest
  digest=$(sha256sum "$bundle" | cut -c1-64)
  if docker image inspect "$image" >/dev/null 2>&1; then
    local made_for
    made_for=$(docker image inspect -f '{{ index .Config.Labels "microblog.ca-bundle" }}' "$image")
    if [ -z "$made_for" ] || [ "$made_for" = "$digest" ]; then
      log "base image $image is there"
      return
    fi
    log "this machine's CA bundle changed: remaking $image"
  fi
  local tarball=$CACHE/debian-$suite-minbase.tar
  if [ ! -s "$tarball" ]; then
    log "debootstrap --variant=minbase $suite (once; cached as $tarball)"
    local root
    root=$(mktemp -d)
    debootstrap --variant=minbase "$suite" "$root" >"$CACHE/debootstrap-$suite.log" 2>&1 \
      || { tail -n 30 "$CACHE/debootstrap-$suite.log"; exit 1; }
    # As the official slim image: no docs, manuals or locales from later installs; empty caches.
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
      > "$root/etc/dpkg/dpkg.cfg.d/docker-slim"
    printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };' \
      'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' > "$root/etc/apt/apt.conf.d/docker-clean"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    find "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale \
      -type f ! -name copyright -delete
    tar --numeric-owner -C "$root" -cf "$tarball.partial" .
    rm -rf "$root"
    mv "$tarball.partial" "$tarball"
  fi
  # This machine reaches the package registries through TLS that only its own CA bundle trusts:
  # the bundle goes into the image (whole, and one file per certificate, so that Debian's
  # ca-certificates and Java's trust store pick it up), and the tools are told where it is.
  local extra rootfs
  extra=$(mktemp -d)
  mkdir -p "$extra/etc/ssl/certs" "$extra/usr/local/share/ca-certificates/build-host"
  cp "$bundle" "$extra/etc/ssl/certs/ca-certificates.crt"
  awk -v dir="$extra/usr/local/share/ca-certificates/build-host" '
    /BEGIN CERTIFICATE/ { n++; file = sprintf("%s/%03d.crt", dir, n) }
    file { print > file }
    /END CERTIFICATE/ { close(file); file = "" }' "$bundle"
  rootfs=$(mktemp --suffix=.tar)
  cp "$tarball" "$rootfs"
  tar --numeric-owner --owner=0 --group=0 -C "$extra" -rf "$rootfs" ./etc/ssl/certs/ca-certificates.crt ./usr/local/share/ca-certificates
  docker import \
    --change 'CMD ["bash"]' \
    --change "LABEL microblog.ca-bundle=$digest" \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt UV_NATIVE_TLS=1 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    "$rootfs" "$image" >/dev/null
  rm -rf "$extra" "$rootfs"
  log "base image $image made from Debian's archive"
}

show_failure() {
  log "something failed: the state and logs of every container follow"
  "${compose[@]}" ps -a || true
  # What the health checks of the containers that are not healthy last said.
  local id
  for id in $("${compose[@]}" ps -aq 2>/dev/null); do
    docker inspect -f '{{ .Name }} {{ if .State.Health }}{{ .State.Health.Status }}{{ range .State.Health.Log }}
  {{ .End.Format "15:04:05" }} exit {{ .ExitCode }}: {{ printf "%.200s" .Output }}{{ end }}{{ end }}' "$id" 2>/dev/null \
      | awk 'NR == 1 && ($2 == "healthy" || $2 == "") { exit } { print }' || true
  done
  "${compose[@]}" logs --no-color --timestamps || true
}

finish() {
  local code=$?
  trap - EXIT
  if [ "$stack_up" = 1 ]; then
    [ "$code" = 0 ] || show_failure
    log "tearing the stack down (with its volumes)"
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    docker image prune -f >/dev/null 2>&1 || true  # images that newer builds replaced
  fi
  if [ -n "$dockerd_pid" ]; then
    log "stopping the dockerd this stage started"
    kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  fi
  log "compose stage $([ "$code" = 0 ] && echo passed || echo "failed ($code)") in $(( $(date +%s) - started )) s"
  exit "$code"
}
trap finish EXIT

install_packages
start_engine
install_compose_plugin
make_base_image bookworm
make_base_image trixie

log "building the images"
if ! "${compose[@]}" build; then
  # Seen once (2026-12-04): uv 0.13.9 died of SIGSEGV in libc as it exited, after a complete
  # install, in one of the ~20 image builds running side by side; the same build alone passed.
  # The steps are deterministic, so a second try rebuilds only what failed (the rest is cached).
  log "an image build failed; building once more"
  "${compose[@]}" build
fi
docker images --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^microblog' | sort

log "starting the stack"
stack_up=1
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true  # what an interrupted run left
# The suite writes thousands of times from one address: the gateway's limits are lifted.
MICROBLOG_GATEWAY_PORT=$GATEWAY_PORT MICROBLOG_WEB_PORT=$WEB_PORT MICROBLOG_AUTH_ATTEMPTS_PER_MINUTE=100000 \
  MICROBLOG_WRITES_PER_ACCOUNT=1000000 MICROBLOG_WRITES_PER_ADDRESS=1000000 \
  MICROBLOG_PASSWORD_ATTEMPTS_PER_MINUTE=100000 MICROBLOG_PASSWORD_ATTEMPTS_PER_MINUTE_PER_ADDRESS=100000 \
  "${compose[@]}" up --build --wait --wait-timeout 900 --quiet-pull
"${compose[@]}" ps --format 'table {{.Service}}\t{{.Status}}'
# `--wait` saw every container healthy from inside; the tests come through the published ports.
for url in "http://127.0.0.1:$GATEWAY_PORT/readyz" "http://127.0.0.1:$WEB_PORT/readyz"; do
  for attempt in $(seq 1 30); do
    python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null && break
    [ "$attempt" = 30 ] && { log "$url does not answer 200"; exit 1; }
    sleep 1
  done
done
log "the stack is ready: the web UI on http://127.0.0.1:$WEB_PORT, the API on http://127.0.0.1:$GATEWAY_PORT"

uv=$(command -v uv || echo .tools/bin/uv)
export MICROBLOG_E2E_URL=http://127.0.0.1:$GATEWAY_PORT
export MICROBLOG_E2E_WEB_URL=http://127.0.0.1:$WEB_PORT
log "end-to-end tests against $MICROBLOG_E2E_URL and $MICROBLOG_E2E_WEB_URL"
"$uv" run --frozen pytest tests/e2e -p no:cacheprovider --basetemp "${TMPDIR:-/tmp}/compose-stage-pytest" -q

# The fault drill kills the stack's containers, so it runs last, and only against compose.
if [ -d tests/drill ]; then
  log "fault drill against the same stack"
  MICROBLOG_COMPOSE="${compose[*]}" "$uv" run --frozen pytest tests/drill -p no:cacheprovider \
    --basetemp "${TMPDIR:-/tmp}/compose-stage-drill" -q
fi
