#!/usr/bin/env bash
# Build the api and web images without a Docker engine or registry access to
# base images: buildah (chroot isolation, vfs storage) on locally made bases,
# in the project's own container store (engine-env.sh: .containers/, or
# $SEED_CONTAINERS_DIR), never the machine-wide one.
#
#   services/scripts/build-images.sh            # build bases (cached) + images
#   REBUILD_BASES=1 services/scripts/build-images.sh
#
# The Debian bookworm rootfs from debootstrap is cached in services/.cache/
# (gitignored); the base images are kept in the project's container store and
# only rebuilt when missing. Tags produced:
#   localhost/seed-fargate-api:dev   localhost/seed-fargate-web:dev
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES="$(cd "$HERE/.." && pwd)"
CACHE="$SERVICES/.cache"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
API_TAG="${API_TAG:-localhost/seed-fargate-api:dev}"
WEB_TAG="${WEB_TAG:-localhost/seed-fargate-web:dev}"
# shellcheck source-path=SCRIPTDIR source=engine-env.sh
source "$HERE/engine-env.sh"
# buildah lets these override storage.conf; the store's driver is vfs.
unset STORAGE_DRIVER STORAGE_OPTS
export BUILDAH_ISOLATION=chroot

bh() { buildah "$@"; }
have_image() { [ "${REBUILD_BASES:-0}" != 1 ] && bh inspect --type image "$1" >/dev/null 2>&1; }
log() { printf '[build-images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

for tool in buildah debootstrap tar; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run services/scripts/install-deps.sh" >&2; exit 1; }
done
mkdir -p "$CACHE"

# 1. Debian bookworm minbase rootfs (cached; skipped while the image exists).
ROOTFS="$CACHE/rootfs-bookworm"
if ! have_image localhost/seed-debian:bookworm \
    && { [ ! -x "$ROOTFS/bin/bash" ] || [ ! -f "$CACHE/rootfs-bookworm.tar" ]; }; then
    if [ ! -x "$ROOTFS/bin/bash" ]; then
        log "debootstrap bookworm minbase -> $ROOTFS"
        rm -rf "$ROOTFS.tmp"
        debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
        rm -rf "$ROOTFS" && mv "$ROOTFS.tmp" "$ROOTFS"
    fi
    log "packing rootfs tarball"
    # like debian:*-slim: no docs/man/locales now or from later apt installs
    mkdir -p "$ROOTFS/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
        >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim"
    tar --numeric-owner -C "$ROOTFS" -cf "$CACHE/rootfs-bookworm.tar.tmp" \
        --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
        --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' \
        --exclude='./usr/share/locale/*' --exclude='./usr/share/doc/*' .
    mv "$CACHE/rootfs-bookworm.tar.tmp" "$CACHE/rootfs-bookworm.tar"
fi

# 2. Base images.
if ! have_image localhost/seed-debian:bookworm; then
    log "importing rootfs as localhost/seed-debian:bookworm"
    ctr="$(bh from scratch)"
    bh add "$ctr" "$CACHE/rootfs-bookworm.tar" / >/dev/null
    bh config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    bh commit --quiet --rm "$ctr" localhost/seed-debian:bookworm >/dev/null
fi
bud() { bh bud --quiet --format docker --isolation chroot --network host --layers=false "$@" >/dev/null; }
# A base is rebuilt when missing or when its Containerfile changed (label).
base_current() {
    local want have
    want="$(sha256sum "$2" | cut -c1-16)"
    have="$(bh inspect --type image --format '{{index .Docker.Config.Labels "seed.base-hash"}}' "$1" 2>/dev/null || true)"
    [ "${REBUILD_BASES:-0}" != 1 ] && [ "$have" = "$want" ]
}
build_base() {  # tag containerfile context
    if ! base_current "$1" "$2"; then
        log "base $1"
        bud --label "seed.base-hash=$(sha256sum "$2" | cut -c1-16)" -f "$2" -t "$1" "$3"
    fi
}
build_base localhost/seed-python:3.11-bookworm "$HERE/base/python.Containerfile" "$HERE/base"
build_base localhost/seed-nginx:bookworm "$HERE/base/nginx.Containerfile" "$HERE/base"
if ! base_current localhost/seed-node:20-bookworm "$HERE/base/node.Containerfile"; then
    log "node build context from the host's node $(node --version)"
    NODECTX="$CACHE/node-context"
    rm -rf "$NODECTX" && mkdir -p "$NODECTX"
    cp "$(readlink -f "$(command -v node)")" "$NODECTX/node"
    NPMDIR="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
    cp -a "$NPMDIR" "$NODECTX/npm"
    build_base localhost/seed-node:20-bookworm "$HERE/base/node.Containerfile" "$NODECTX"
fi

# 3. The images, from the real Dockerfiles with the local bases.
log "image $API_TAG"
bud -v "$CA:/etc/ssl/certs/ca-certificates.crt:ro" \
    --build-arg BASE_IMAGE=localhost/seed-python:3.11-bookworm \
    --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    -t "$API_TAG" "$SERVICES/api"
log "image $WEB_TAG"
bud -v "$CA:/etc/ssl/certs/ca-certificates.crt:ro" \
    --build-arg NODE_IMAGE=localhost/seed-node:20-bookworm \
    --build-arg NGINX_IMAGE=localhost/seed-nginx:bookworm \
    --build-arg NPM_CAFILE=/etc/ssl/certs/ca-certificates.crt \
    -t "$WEB_TAG" "$SERVICES/web"

# Drop dangling intermediate images left by multi-stage builds.
bh rmi --prune >/dev/null 2>&1 || true
log "done"
bh images --format '{{.Name}}:{{.Tag}} {{.Size}}' | grep -E 'seed-fargate-(api|web)' || true
