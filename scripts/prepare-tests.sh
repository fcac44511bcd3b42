#!/usr/bin/env bash
# Prepare this machine for `make test`: everything the browser and container suites need.
# Idempotent: what is already there is only checked.
#
# - Chromium (/usr/bin/chromium, or $NBSTEPS_CHROMIUM) for the browser tests, with apt;
# - a running Docker engine and docker-compose, with scripts/start-docker.sh;
# - a base image for the step images: $BASE_IMAGE if set, else the Dockerfile's default
#   base when the engine has it or a registry gives it, else an offline one built from the
#   Debian mirror by scripts/build-base-image.sh (no registry answers on some machines).
#
# As root it installs what is missing; otherwise it stops and prints the exact commands to
# run with sudo. Prints the base image's name on stdout (all else goes to stderr):
#   export BASE_IMAGE="$(scripts/prepare-tests.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'prepare-tests: %s\n' "$*" >&2; }
need_root() {
    log "$1 is missing and only root can install it; run:"
    printf '    %s\n' "${@:2}" >&2
    log "then run \`make test\` again"
    exit 1
}

chromium="${NBSTEPS_CHROMIUM:-/usr/bin/chromium}"
if [[ -x $chromium ]]; then
    log "chromium: $chromium"
elif [[ $(id -u) -eq 0 ]]; then
    log "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >&2
else
    need_root "Chromium" "sudo apt-get update && sudo apt-get install -y chromium fonts-dejavu-core"
fi

if ! scripts/start-docker.sh >&2; then
    [[ $(id -u) -eq 0 ]] && exit 1
    need_root "A running Docker engine (with docker-compose and debootstrap)" \
        "sudo scripts/start-docker.sh" \
        "sudo usermod -aG docker \"\$USER\"   # then log in again, to use docker without sudo"
fi

if [[ -n ${BASE_IMAGE:-} ]]; then
    echo "$BASE_IMAGE"
    exit 0
fi
default_base=$(awk -F= '/^ARG BASE_IMAGE=/ {print $2; exit}' containers/Dockerfile)
if docker image inspect "$default_base" >/dev/null 2>&1 \
        || timeout 20 docker pull -q "$default_base" >/dev/null 2>&1; then
    log "base image: $default_base"
    echo "$default_base"
    exit 0
fi
log "no registry gives $default_base: building an offline base image from Debian"
ca=(); [[ -f /etc/ssl/certs/ca-certificates.crt ]] && ca=(--ca-bundle /etc/ssl/certs/ca-certificates.crt)
scripts/build-base-image.sh "${ca[@]}" | tail -n 1
