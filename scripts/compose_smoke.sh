#!/usr/bin/env bash
# The docker-compose stack end to end, on a host with or without a Docker engine, bridge
# network or image registry (docker-compose.host.yml: host networking, loopback binds).
#
#   scripts/compose_smoke.sh          # the smoke test: build, start, run twice, scale, tear down
#   scripts/compose_smoke.sh up       # (make compose-up) build and start the stack on ./data, leave it running
#   scripts/compose_smoke.sh down     # (make compose-down) stop it, and the engine `up` started
#
# The smoke test:
#  1. installs what is missing (Debian's docker.io, docker-compose, debootstrap; as root, says so)
#  2. starts an engine (dockerd --bridge=none --iptables=false --ip-masq=false) if none answers
#  3. uses python:3.11-slim if it is present or can be pulled, else builds the local base image
#     urbansound-base:bookworm with debootstrap (once; the host's CA bundle goes in, for pip)
#  4. builds the project image (timed), starts Prefect server + Dask scheduler + 2 workers +
#     the served pipeline on free loopback ports (timed until every service is healthy)
#  5. writes a small synthetic dataset with the host's CLI (.venv/bin/urbansound; `make install`
#     first if there is none) in its own folder, .cache/compose-smoke/data, mounted at /app/data
#  6. checks the Dask dashboard's /status and the Prefect API's /api/health
#  7. runs the pipeline from the host's CLI on the stack's scheduler, then through the served
#     deployment (`prefect deployment run urbansound-pipeline/scheduled` in the pipeline
#     container, until the flow run completes), both timed; checks each submission CSV and
#     that the files the containers wrote belong to APP_UID:APP_GID, not root
#  8. scales the workers to 3 and back to 2 (the scheduler's count checked)
#  9. tears down: no container, network or volume left; stops the engine it started
# and prints a summary (build, start and run times). Images stay, for the next run.
#
# Settings (environment): APP_UID/APP_GID (default: the caller's; for root, SUDO_UID/SUDO_GID
# or 1000, so that the check means something), BASE_IMAGE, SMOKE_CLIPS_PER_CLASS (4),
# SMOKE_RUN_ARGS (extra `urbansound run` options), the ports of docker-compose.host.yml.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MODE=${1:-smoke}
case "$MODE" in smoke|up|down) ;; *) echo "usage: $0 [smoke|up|down]" >&2; exit 2 ;; esac

STATE=$ROOT/.cache/compose           # logs; the engine's pid when this script started it
mkdir -p "$STATE"
# `up` and `down` share one engine pid file; the smoke test stops only an engine it started itself.
if [ "$MODE" = smoke ]; then ENGINE_PID_FILE=$STATE/dockerd-smoke.pid; else ENGINE_PID_FILE=$STATE/dockerd.pid; fi
LOCAL_BASE=urbansound-base:bookworm
OFFICIAL_BASE=python:3.11-slim
CLI=$ROOT/.venv/bin/urbansound
PY=$ROOT/.venv/bin/python

say() { printf '[compose-smoke %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }
now() { date +%s; }

# ------------------------------------------------------------------ tools and engine
install_missing() {
    local need=() tool
    for tool in "$@"; do
        case $tool in
            docker) command -v docker >/dev/null || need+=(docker.io) ;;
            dockerd) command -v dockerd >/dev/null || need+=(docker.io) ;;
            compose) docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || need+=(docker-compose) ;;
            debootstrap) command -v debootstrap >/dev/null || need+=(debootstrap) ;;
        esac
    done
    [ ${#need[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${need[*]}: install them (apt-get install ${need[*]}) or run as root"
    say "installing the missing Debian packages: ${need[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

start_engine() {
    if docker info >/dev/null 2>&1; then
        say "Docker engine: already running (left running)"
        return 0
    fi
    install_missing dockerd
    say "Docker engine: none answers; starting dockerd --bridge=none --iptables=false --ip-masq=false (log: $STATE/dockerd.log)"
    dockerd --bridge=none --iptables=false --ip-masq=false >"$STATE/dockerd.log" 2>&1 &
    echo $! >"$ENGINE_PID_FILE"
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return 0
        kill -0 "$(cat "$ENGINE_PID_FILE")" 2>/dev/null || break
        sleep 1
    done
    die "dockerd did not answer within 60 s; see $STATE/dockerd.log"
}

stop_engine() {
    [ -f "$ENGINE_PID_FILE" ] || return 0
    local pid
    pid=$(cat "$ENGINE_PID_FILE")
    rm -f "$ENGINE_PID_FILE"
    kill -0 "$pid" 2>/dev/null || return 0
    say "stopping the Docker engine this script started (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    die "dockerd (pid $pid) still runs 60 s after SIGTERM"
}

# ------------------------------------------------------------------ images
base_image() {
    # Prints the base image to build on; builds the local one when the official one cannot be had.
    if [ -n "${BASE_IMAGE:-}" ]; then echo "$BASE_IMAGE"; return; fi
    if docker image inspect "$OFFICIAL_BASE" >/dev/null 2>&1 || docker pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then
        echo "$OFFICIAL_BASE"; return
    fi
    if ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        build_local_base >&2
    else
        say "$OFFICIAL_BASE cannot be pulled; reusing the local base image $LOCAL_BASE" >&2
    fi
    echo "$LOCAL_BASE"
}

build_local_base() {
    # Debian bookworm (python3 3.11, venv, pip) with the host's CA bundle, so that pip in the
    # build trusts what the host trusts (a TLS-inspecting proxy's CA too).
    install_missing debootstrap
    local rootfs t0
    t0=$(now)
    rootfs=$(mktemp -d /var/tmp/urbansound-rootfs.XXXXXX)
    say "$OFFICIAL_BASE cannot be pulled; building $LOCAL_BASE with debootstrap in $rootfs (about a minute)"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" >"$STATE/debootstrap.log" 2>&1 || die "debootstrap failed; see $STATE/debootstrap.log"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
    docker run --rm --network host "$LOCAL_BASE" python3 --version
    echo $(( $(now) - t0 )) >"$STATE/base-image.seconds"
}

# ------------------------------------------------------------------ the stack
compose() {
    # Compose v2 (`docker compose`) where there is one, else Debian's docker-compose 1.29.
    if [ -z "${COMPOSE_CMD:-}" ]; then
        if docker compose version >/dev/null 2>&1; then COMPOSE_CMD="docker compose"; else COMPOSE_CMD=docker-compose; fi
    fi
    $COMPOSE_CMD -f docker-compose.yml -f docker-compose.host.yml "$@"
}

free_port() {
    # The given port when nothing listens on it on loopback, else one the kernel picks.
    "$PY" - "$1" <<'EOF'
import socket, sys
for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
EOF
}

settings() {
    # The smoke test's project is its own: its `down --volumes` cannot touch a stack `up` started.
    if [ "$MODE" = smoke ]; then
        export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-urbansound-smoke}
    else
        export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-urbansound}
    fi
    export COMPOSE_DOCKER_CLI_BUILD=0   # Compose 1.29: build through the API (no buildx here)
    local uid gid
    uid=$(id -u) gid=$(id -g)
    if [ "$uid" = 0 ]; then uid=${SUDO_UID:-1000} gid=${SUDO_GID:-1000}; fi
    export APP_UID=${APP_UID:-$uid} APP_GID=${APP_GID:-$gid}
}

share_data() {
    # When root runs the host's CLI and the containers run as APP_UID: the data folder's
    # group becomes APP_GID, its folders setgid and group-writable, and umask 002 applies,
    # so that both write in the workspace.
    mkdir -p "$URBANSOUND_DATA"
    [ "$(id -u)" = "$APP_UID" ] && return 0
    say "the containers run as $APP_UID:$APP_GID: $URBANSOUND_DATA becomes group $APP_GID, group-writable"
    chgrp -R "$APP_GID" "$URBANSOUND_DATA"
    chmod -R g+w "$URBANSOUND_DATA"
    find "$URBANSOUND_DATA" -type d -exec chmod g+s {} +
    umask 002
}

ensure_cli() {
    [ -x "$CLI" ] && return 0
    say "no $CLI: make install (log: $STATE/make-install.log)"
    make install >"$STATE/make-install.log" 2>&1 || { tail -20 "$STATE/make-install.log"; die "make install failed"; }
}

wait_healthy() {
    # Waits until `compose ps` lists $1 containers and every one of them is healthy.
    local want=$1 deadline=$(( $(now) + ${2:-300} )) ids id status bad
    while :; do
        ids=$(compose ps -q)
        bad=0
        [ "$(echo "$ids" | grep -c .)" -eq "$want" ] || bad=1
        for id in $ids; do
            status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
            [ "$status" = healthy ] || bad=1
            [ "$status" = unhealthy ] && { compose ps; compose logs --tail 30; die "container $id is unhealthy"; }
        done
        [ $bad = 0 ] && return 0
        [ "$(now)" -lt "$deadline" ] || { compose ps; compose logs --tail 30; die "the stack was not healthy within ${2:-300} s"; }
        sleep 2
    done
}

scheduler_workers() {
    "$PY" -c "from distributed import Client
with Client('tcp://127.0.0.1:$DASK_SCHEDULER_PORT', timeout=30) as c:
    print(len(c.scheduler_info()['workers']))" 2>/dev/null
}

scale_workers() {
    local n=$1
    compose up -d --no-recreate --scale dask-worker="$n" >/dev/null 2>&1
    wait_healthy $((n + 3))
    for _ in $(seq 30); do [ "$(scheduler_workers)" = "$n" ] && break; sleep 2; done
    [ "$(scheduler_workers)" = "$n" ] || die "the scheduler does not count $n workers"
    say "workers: $n (healthy; the scheduler counts $n)"
}

check_http() {
    "$PY" -c "import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=10)
assert r.status == 200, r.status" "$1" || die "$1 does not answer 200"
    say "$1: 200"
}

check_submission() {
    # The CSV has the header ID,Class and one row per clip of the dataset's test.csv.
    local csv=$1 dataset=$2
    [ -s "$csv" ] || die "no submission at $csv"
    [ "$(head -1 "$csv" | tr -d '\r')" = "ID,Class" ] || die "$csv: header is not ID,Class"
    [ "$(wc -l <"$csv")" -eq "$(wc -l <"$dataset/test.csv")" ] || die "$csv: not one row per test clip"
    say "submission $csv: $(($(wc -l <"$csv") - 1)) rows"
}

check_ownership() {
    local wrong
    wrong=$(find "$@" \( ! -uid "$APP_UID" -o ! -gid "$APP_GID" \) -print | head -5)
    [ -z "$wrong" ] || die "files written in the containers not owned by $APP_UID:$APP_GID: $wrong"
    [ -n "$(find "$@" -type f -print -quit)" ] || die "no files in $*"
    say "ownership: everything in ${*#"$URBANSOUND_DATA/"} is $APP_UID:$APP_GID (caller: $(id -u):$(id -g))"
}

teardown() {
    compose down --volumes --remove-orphans >/dev/null 2>&1 || true
    local left
    left=$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
           docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
           docker volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
    [ -z "$left" ] || die "left behind after down: $left"
    say "torn down: no container, network or volume of $COMPOSE_PROJECT_NAME left"
}

pick_ports() {
    export PREFECT_PORT=${PREFECT_PORT:-$(free_port 4200)}
    export DASK_SCHEDULER_PORT=${DASK_SCHEDULER_PORT:-$(free_port 8786)}
    export DASK_DASHBOARD_PORT=${DASK_DASHBOARD_PORT:-$(free_port 8787)}
    export RUNNER_PORT=${RUNNER_PORT:-$(free_port 8080)}
    say "ports on 127.0.0.1: Prefect $PREFECT_PORT, Dask scheduler $DASK_SCHEDULER_PORT, dashboard $DASK_DASHBOARD_PORT, runner $RUNNER_PORT"
}

build_and_start() {
    install_missing docker compose
    start_engine
    local base t0
    rm -f "$STATE/base-image.seconds"
    base=$(base_image)   # in a subshell: its time comes back through a file
    BASE_S=$(cat "$STATE/base-image.seconds" 2>/dev/null || echo "reused, 0")
    COMPOSE_VERSION=$(compose version --short 2>/dev/null || echo "compose ?")
    export BASE_IMAGE=$base
    say "building urbansound:local on $BASE_IMAGE for APP_UID:APP_GID $APP_UID:$APP_GID"
    t0=$(now)
    compose build >"$STATE/build.log" 2>&1 || { tail -30 "$STATE/build.log"; die "the build failed; see $STATE/build.log"; }
    BUILD_S=$(( $(now) - t0 ))
    t0=$(now)
    compose up -d >"$STATE/up.log" 2>&1 || { cat "$STATE/up.log"; die "compose up failed"; }
    wait_healthy 5
    START_S=$(( $(now) - t0 ))
    say "built in ${BUILD_S} s; started and healthy in ${START_S} s"
}

# ------------------------------------------------------------------ modes
settings
if [ "$MODE" = down ]; then
    export URBANSOUND_DATA=${URBANSOUND_DATA:-$ROOT/data}
    if docker info >/dev/null 2>&1; then teardown; fi
    stop_engine
    exit 0
fi

ensure_cli
if [ "$MODE" = up ]; then
    export URBANSOUND_DATA=${URBANSOUND_DATA:-$ROOT/data}
    share_data
    pick_ports
    build_and_start
    say "running: Prefect UI http://127.0.0.1:$PREFECT_PORT  Dask dashboard http://127.0.0.1:$DASK_DASHBOARD_PORT/status  scheduler tcp://127.0.0.1:$DASK_SCHEDULER_PORT"
    say "stop with: make compose-down"
    exit 0
fi

# The smoke test, in a folder of its own: the caller's ./data is not touched.
export URBANSOUND_DATA=$ROOT/.cache/compose-smoke/data
DATASET=$URBANSOUND_DATA/raw/synthetic-av     # where the served deployment reads (docker-compose.yml)
HOST_WS=$URBANSOUND_DATA/host-run             # the host CLI run's workspace
SMOKE_T0=$(now)
rm -rf "$ROOT/.cache/compose-smoke"
share_data
trap 'status=$?; teardown || status=1; stop_engine || status=1; exit $status' EXIT
pick_ports
build_and_start

t0=$(now)
"$CLI" synth "$DATASET" --clips-per-class "${SMOKE_CLIPS_PER_CLASS:-4}" --layout av >/dev/null
say "dataset: $(($(wc -l <"$DATASET/train.csv") - 1)) train + $(($(wc -l <"$DATASET/test.csv") - 1)) test clips in $DATASET ($(( $(now) - t0 )) s)"

check_http "http://127.0.0.1:$DASK_DASHBOARD_PORT/status"
check_http "http://127.0.0.1:$PREFECT_PORT/api/health"

say "run 1: the host's CLI on the stack's scheduler"
t0=$(now)
# shellcheck disable=SC2086
PREFECT_API_URL=http://127.0.0.1:$PREFECT_PORT/api "$CLI" run --data "$DATASET" --workspace "$HOST_WS" \
    --scheduler "tcp://127.0.0.1:$DASK_SCHEDULER_PORT" ${SMOKE_RUN_ARGS:-} >"$STATE/host-run.log" 2>&1 \
    || { tail -30 "$STATE/host-run.log"; die "the host's run failed; see $STATE/host-run.log"; }
HOST_RUN_S=$(( $(now) - t0 ))
check_submission "$HOST_WS/submissions/synthetic-av.csv" "$DATASET"
check_ownership "$HOST_WS/features" "$HOST_WS/models"   # the Dask tasks ran in the workers

say "run 2: the served deployment, in the pipeline container"
t0=$(now)
compose exec -T pipeline prefect deployment run urbansound-pipeline/scheduled \
    --watch --watch-interval 5 --watch-timeout 900 >"$STATE/deployment-run.log" 2>&1 \
    || { tail -30 "$STATE/deployment-run.log"; die "the deployment run failed; see $STATE/deployment-run.log"; }
grep -q "Completed" "$STATE/deployment-run.log" || die "the flow run did not complete; see $STATE/deployment-run.log"
DEPLOYMENT_RUN_S=$(( $(now) - t0 ))
check_submission "$URBANSOUND_DATA/submissions/synthetic-av.csv" "$DATASET"
check_ownership "$URBANSOUND_DATA/features" "$URBANSOUND_DATA/models" "$URBANSOUND_DATA/reports" "$URBANSOUND_DATA/submissions"

scale_workers 3
scale_workers 2

trap - EXIT
teardown
stop_engine
cat <<EOF

compose smoke test passed ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, base image $BASE_IMAGE, Compose $COMPOSE_VERSION)
  base image (debootstrap + import):             ${BASE_S} s
  build (compose build):                         ${BUILD_S} s
  start (up -d until 5 services healthy):        ${START_S} s
  run from the host's CLI (--scheduler):         ${HOST_RUN_S} s
  run through the deployment (flow run done):    ${DEPLOYMENT_RUN_S} s
  the whole smoke test (after make install):     $(( $(now) - SMOKE_T0 )) s
EOF
