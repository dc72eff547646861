#!/usr/bin/env bash
# The project's own container storage, apart from the machine's.
#
#   source services/scripts/engine-env.sh      # exports CONTAINERS_STORAGE_CONF, CONTAINERS_CONF
#   services/scripts/engine-env.sh             # prints the exports (eval "$(...)")
#
# buildah and podman read both variables, so every build, run and test of this
# checkout uses one vfs store under $SEED_CONTAINERS_DIR (default: .containers/
# in the checkout, gitignored), with runc and cgroupfs. A plain `podman info`
# or `podman run` elsewhere on the machine initialises /var/lib/containers with
# its own driver; that store is never touched here, so it cannot break us.
#
# Sourced, it changes nothing in the caller's shell but these exports: no
# `set -e`/`pipefail` leaks out (it would end an interactive shell on the next
# failing command), and its helper function is unset again.

_seed_engine_env() {
    local here repo dir
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || return 1
    repo="$(cd "$here/../.." && pwd)" || return 1
    dir="${SEED_CONTAINERS_DIR:-$repo/.containers}"
    mkdir -p "$dir/storage" "$dir/run" || return 1
    # graphroot/runroot must be absolute: resolve a relative override now.
    dir="$(cd "$dir" && pwd)" || return 1
    _seed_write_conf "$dir/storage.conf" <<CONF || return 1
[storage]
driver = "vfs"
graphroot = "$dir/storage"
runroot = "$dir/run"
CONF
    _seed_write_conf "$dir/containers.conf" <<CONF || return 1
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
tmp_dir = "$dir/run/libpod-tmp"
CONF
    export SEED_CONTAINERS_DIR="$dir"
    export CONTAINERS_STORAGE_CONF="$dir/storage.conf"
    export CONTAINERS_CONF="$dir/containers.conf"
}

_seed_write_conf() {  # path < content: replace atomically, and only on a change
    local tmp="$1.tmp.$$"
    cat >"$tmp" || { rm -f "$tmp"; return 1; }
    if cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$1"
    fi
}

if _seed_engine_env; then _seed_rc=0; else _seed_rc=1; fi
unset -f _seed_engine_env _seed_write_conf
if [ "$_seed_rc" != 0 ]; then
    echo "engine-env.sh: could not prepare the container store in ${SEED_CONTAINERS_DIR:-.containers}" >&2
fi
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ "$_seed_rc" = 0 ] || exit 1
    printf 'export SEED_CONTAINERS_DIR=%q\nexport CONTAINERS_STORAGE_CONF=%q\nexport CONTAINERS_CONF=%q\n' \
        "$SEED_CONTAINERS_DIR" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_CONF"
    exit 0
fi
if [ "$_seed_rc" = 0 ]; then unset _seed_rc; else unset _seed_rc; return 1; fi
