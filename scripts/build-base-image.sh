#!/usr/bin/env bash
# Build a Python base image from Debian packages, for machines that reach a Debian
# mirror but no container registry (air-gapped builds, CI here).
#
#   debootstrap --variant=minbase trixie (python3, python3-venv, python3-pip,
#   ca-certificates) -> docker import -> local/python-base:trixie
#
# Trixie by default: its python3 is 3.13. Bookworm's (3.11.2) is older than some pinned
# packages accept (constraints.txt's soupsieve needs 3.11.5 or newer).
#
# The step images take it with `--build-arg BASE_IMAGE=<image>` or, with compose,
# `BASE_IMAGE=<image> docker compose build`.
#
# Usage: scripts/build-base-image.sh [--force] [--ca-bundle FILE] [--tag IMAGE] [--suite NAME]
#   --force          rebuild even if IMAGE already exists (default: keep it)
#   --ca-bundle FILE also trust the certificates in FILE (e.g. a TLS-inspecting
#                    proxy's CA); pip, requests and OpenSSL in the image use it via
#                    PIP_CERT, REQUESTS_CA_BUNDLE and SSL_CERT_FILE
#   --tag IMAGE      image to create (default: local/python-base:SUITE)
#   --suite NAME     Debian release to bootstrap (default: trixie)
# Environment (the flags win): BASE_IMAGE_TAG, EXTRA_CA_BUNDLE, FORCE=1,
#   DEBIAN_SUITE, DEBIAN_MIRROR (default: this machine's apt mirror).
#
# Prints the image name on stdout (everything else goes to stderr), so:
#   export BASE_IMAGE="$(scripts/build-base-image.sh --ca-bundle /etc/ssl/certs/ca-certificates.crt)"
set -euo pipefail

log() { printf 'build-base-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

tag="${BASE_IMAGE_TAG:-}"
ca_bundle="${EXTRA_CA_BUNDLE:-}"
force="${FORCE:-0}"
suite="${DEBIAN_SUITE:-trixie}"
mirror="${DEBIAN_MIRROR:-}"

while (($#)); do
    case "$1" in
        --force) force=1 ;;
        --ca-bundle) ca_bundle="${2:?--ca-bundle needs a file}"; shift ;;
        --ca-bundle=*) ca_bundle="${1#*=}" ;;
        --tag) tag="${2:?--tag needs an image name}"; shift ;;
        --tag=*) tag="${1#*=}" ;;
        --suite) suite="${2:?--suite needs a Debian release name}"; shift ;;
        --suite=*) suite="${1#*=}" ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
tag="${tag:-local/python-base:$suite}"

command -v docker >/dev/null || die "docker not found: run scripts/start-docker.sh first"
docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/start-docker.sh first"

[[ -z "$ca_bundle" || -r "$ca_bundle" ]] || die "cannot read CA bundle: $ca_bundle"
# Recorded in a label, so an existing image made with other certificates is rebuilt.
ca_digest=none
[[ -z "$ca_bundle" ]] || ca_digest="sha256:$(sha256sum "$ca_bundle" | cut -d' ' -f1)"

if [[ "$force" != 1 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    had=$(docker image inspect --format '{{index .Config.Labels "nbsteps.base.ca-bundle"}}' "$tag")
    if [[ "$had" == "$ca_digest" ]]; then
        log "$tag already exists (use --force to rebuild)"
        printf '%s\n' "$tag"
        exit 0
    fi
    log "$tag exists but trusts other certificates ($had): rebuilding it"
fi
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"

if [[ -z "$mirror" ]]; then
    # deb822 sources (Debian 12+) first, then the one-line format.
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [[ -n "$mirror" ]] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    mirror="${mirror:-http://deb.debian.org/debian}"
fi

rootfs=$(mktemp -d /tmp/nbsteps-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$rootfs" "$mirror" >&2

# Nothing in the image needs apt's caches or lists; they only add size.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*

changes=(
    --change 'ENV LANG=C.UTF-8'
    --change 'CMD ["python3"]'
    --change "LABEL org.opencontainers.image.description=\"python3 from Debian $suite (debootstrap minbase)\""
    --change "LABEL nbsteps.base.ca-bundle=$ca_digest"
)
if [[ -n "$ca_bundle" ]]; then
    # Debian's own roots plus the extra ones: the extra file may hold just one CA.
    bundle=/etc/ssl/certs/nbsteps-ca-bundle.crt
    cat "$rootfs/etc/ssl/certs/ca-certificates.crt" "$ca_bundle" >"$rootfs$bundle"
    chmod 0644 "$rootfs$bundle"
    changes+=(
        --change "ENV PIP_CERT=$bundle"
        --change "ENV REQUESTS_CA_BUNDLE=$bundle"
        --change "ENV SSL_CERT_FILE=$bundle"
    )
    log "trusting the certificates in $ca_bundle (image path $bundle)"
fi

log "importing $tag"
tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$tag" >&2
log "done; build the step images with BASE_IMAGE=$tag"
printf '%s\n' "$tag"
