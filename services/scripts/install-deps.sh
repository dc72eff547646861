#!/usr/bin/env bash
# Install everything the services tests, image build, bench and ansible-test
# sanity need, on a clean Debian 12 machine (as root): Debian packages,
# Node.js >= 20.19 + npm (install-node.sh), the services' pip and npm
# modules. Idempotent and quiet; safe to re-run.
#   services/scripts/install-deps.sh            # system packages + node + pip + npm
#   PYTHON=/path/to/python services/scripts/install-deps.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
PACKAGES=(
    nginx gettext-base                 # web tier tests + bench (nginx, envsubst)
    chromium chromium-driver           # end-to-end test
    wrk curl iproute2                  # bench; ss for the keepalive test
    buildah podman runc debootstrap    # image build + run (no Docker engine)
    uidmap slirp4netns fuse-overlayfs ca-certificates
    shellcheck                         # ansible-test sanity skips its check without it
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts nginx on port 80 when installing it; we only use our own instances.
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
fi

if [ -x "$PY" ]; then
    "$PY" -m pip install -q --disable-pip-version-check -r "$REPO/tests/services/requirements.txt"
else
    echo "install-deps: no python at $PY (set PYTHON=...)" >&2
    exit 1
fi

# Node.js + npm: Debian 12's Node 18 is too old for vite 8 (see install-node.sh).
"$HERE/install-node.sh"

npm_ci() {  # dir: npm ci unless node_modules was installed from this very lockfile
    local dir="$1" want
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$dir/node_modules/.seed-lock-sha256" 2>/dev/null)" != "$want" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$want" >"$dir/node_modules/.seed-lock-sha256"
    fi
}
npm_ci "$REPO/services/web"
npm_ci "$REPO/bench/services/express"
echo "install-deps: ok"
