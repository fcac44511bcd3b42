#!/usr/bin/env bash
# Make a Docker engine available on this machine, then return.
#
# - Installs Debian's engine, docker-compose (1.29) and debootstrap with apt-get
#   when any of them is missing (needs root; CI machines start with none of them).
# - Starts dockerd in the background when no engine answers, logging to
#   ${DOCKERD_LOG:-/tmp/dockerd.log}.
# - Waits (up to ${DOCKER_WAIT_S:-60} s) until `docker info` works.
#
# Idempotent: running it again with an engine up does nothing but check.
# Usage: scripts/start-docker.sh
set -euo pipefail

log() { printf 'start-docker: %s\n' "$*" >&2; }

wait_s="${DOCKER_WAIT_S:-60}"
dockerd_log="${DOCKERD_LOG:-/tmp/dockerd.log}"

missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        log "missing ${missing[*]} and not root: install them, or run this as root"
        exit 1
    fi
    # Unique names only; the order does not matter to apt.
    mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${pkgs[@]}"
fi

if docker info >/dev/null 2>&1; then
    log "engine already running"
else
    if [[ $(id -u) -ne 0 ]]; then
        log "no engine answers and only root can start dockerd here"
        exit 1
    fi
    log "starting dockerd (log: $dockerd_log)"
    # setsid: the engine must outlive this script and the shell that called it.
    setsid dockerd >"$dockerd_log" 2>&1 </dev/null &
    if ! timeout "$wait_s" sh -c 'until docker info >/dev/null 2>&1; do sleep 1; done'; then
        log "dockerd did not answer within ${wait_s}s; last lines of $dockerd_log:"
        tail -n 30 "$dockerd_log" >&2 || true
        exit 1
    fi
fi
docker version --format 'start-docker: engine {{.Server.Version}}, client {{.Client.Version}}' >&2
