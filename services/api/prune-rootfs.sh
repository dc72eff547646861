#!/bin/sh
# Prune an image's root filesystem down to what the service runs. Runs as the last step of a build
# stage that a final `FROM scratch` stage copies whole: files removed in a later layer of the same
# image would still ship in the layers below. Debian-based images (the official python/nginx images
# and the local stand-ins of services/scripts/base); it needs sh, coreutils and the dynamic loader
# while it runs. The same file sits in services/api and services/web (each its own build context);
# tests/services/test_prune_rootfs.py keeps the copies identical.
#
#   prune-rootfs.sh [--keep COMMAND|PATH]... [--keep-package PACKAGE]...
#
# Removes
#   - package managers and their state (apt, dpkg, debconf), perl, documentation (the copyright
#     notices stay), man and info pages, translations, gconv modules, headers, static libraries,
#     the time zones other than /etc/localtime's;
#   - from each Python under /usr and /usr/local: the test suites, idlelib, tkinter, turtledemo,
#     lib2to3, ensurepip, distutils, pydoc_data, config-*, the test extension modules and the
#     interpreter's own site-packages (pip, setuptools; a venv has its own);
#   - every entry of the bin directories (/usr/local/bin too) but the --keep ones (commands looked
#     up in PATH, with the symlinks leading to them and a script's #! interpreter) and the
#     executables of the --keep-package packages;
#   - every shared library of the system library directories that no ELF file left needs, as the
#     dynamic loader resolves them (`ld.so --list`, i.e. ldd) for the executables, Python's
#     extension modules (lib-dynload, the venv's), nginx's modules, whatever ELF file is left
#     outside the library directories. glibc's own dlopen targets stay (the loader, libgcc_s for
#     thread cancellation, NSS modules); a plugin under a library directory (PAM modules, krb5 or
#     OpenSSL plugins...) stays when everything it needs stays.
# Fails when an ELF file left has a dependency that no longer resolves.
set -eu
export LC_ALL=C

die() { echo "prune-rootfs: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (a build stage's RUN)"

LDSO=""
for f in /lib64/ld-linux*.so.* /lib/ld-linux*.so.*; do
    if [ -e "$f" ]; then LDSO=$f; break; fi
done
[ -n "$LDSO" ] || die "no dynamic loader found"
WORK=$(mktemp -d /tmp/prune-rootfs.XXXXXX)
KEEP=$WORK/keep
: >"$KEEP"
NL='
'

canon() {  # path -> the same path with its directory resolved (the last component may be a symlink)
    set -- "$(readlink -f "$(dirname "$1")")" "$(basename "$1")"
    printf '%s/%s\n' "${1%/}" "$2"
}

keep_chain() {  # path: keep it and every symlink on the way to the file it names
    p=$(canon "$1")
    hops=0
    while :; do
        echo "$p" >>"$KEEP"
        [ -L "$p" ] || break
        t=$(readlink "$p")
        case $t in /*) ;; *) t=$(dirname "$p")/$t ;; esac
        p=$(canon "$t")
        hops=$((hops + 1))
        [ "$hops" -lt 40 ] || die "symlink loop from $1"
    done
    [ -e "$p" ] || die "$1 leads to $p, which does not exist"
    keep_interpreter "$p"
}

keep_interpreter() {  # file: a script's interpreter is kept too (`#!/usr/bin/env X`: env and X)
    [ -f "$1" ] && [ "$(head -c 2 "$1")" = '#!' ] || return 0
    IFS= read -r shebang <"$1" || true
    # shellcheck disable=SC2086  # the #! line's words
    set -- ${shebang#??}
    [ $# -gt 0 ] || return 0
    keep_chain "$1"
    if [ "${1##*/}" = env ] && [ $# -gt 1 ]; then
        found=$(command -v "$2") || die "no command $2 for the script's #!$shebang"
        keep_chain "$found"
    fi
}

# Directories: bin (pruned to the kept entries), library (shared libraries pruned to what is needed)
# and the plugin trees under the multiarch library directories. Merged-/usr symlinks are skipped.
BIN_DIRS=""
for d in /bin /sbin /usr/bin /usr/sbin /usr/local/bin /usr/local/sbin; do
    if [ -d "$d" ] && [ ! -L "$d" ]; then BIN_DIRS="$BIN_DIRS $d"; fi
done
LIB_DIRS=""
MULTIARCH_DIRS=""
for d in /lib /lib64 /usr/lib64 /usr/local/lib /lib/*-linux-gnu* /usr/lib/*-linux-gnu*; do
    if [ -d "$d" ] && [ ! -L "$d" ]; then
        LIB_DIRS="$LIB_DIRS $d"
        case $d in *-linux-gnu*) MULTIARCH_DIRS="$MULTIARCH_DIRS $d" ;; esac
    fi
done

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
        --keep)
            case $2 in
                */*) keep_chain "$2" ;;
                *)
                    found=$(command -v "$2") || die "no command $2 to keep"
                    case $found in /*) keep_chain "$found" ;; *) die "$2 is a shell builtin, not a file" ;; esac
                    ;;
            esac
            ;;
        --keep-package)
            command -v dpkg-query >/dev/null || die "--keep-package needs dpkg-query (a Debian-based image)"
            dpkg-query -L "$2" >"$WORK/package" || die "package $2 is not installed"
            while IFS= read -r f; do
                if [ -f "$f" ] || [ -L "$f" ]; then
                    case " $BIN_DIRS " in *" $(dirname "$(canon "$f")") "*) keep_chain "$f" ;; esac
                fi
            done <"$WORK/package"
            ;;
        *) die "unknown argument $1" ;;
    esac
    shift 2
done
sort -u -o "$KEEP" "$KEEP"

# 1. Whole trees nothing at run time uses.
rm -rf /var/lib/dpkg /var/lib/apt /var/cache/apt /var/cache/debconf /etc/apt /etc/dpkg \
    /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log \
    /usr/lib/apt /usr/lib/dpkg /usr/share/dpkg /usr/share/debconf /usr/lib/*-linux-gnu*/perl* /usr/share/perl* \
    /usr/lib/*-linux-gnu*/gconv /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian \
    /usr/share/bash-completion /usr/share/keyrings /usr/share/python-wheels /usr/share/gcc /usr/share/gdb \
    /usr/include /usr/local/include /usr/local/share/man
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -exec rm -f {} + 2>/dev/null || true
find /usr/share/doc -mindepth 1 -depth -type d -empty -delete 2>/dev/null || true
find /usr /lib* \( -name '*.a' -o -name '*.la' \) -type f -exec rm -f {} +
find /usr /lib* -name pkgconfig -type d -prune -exec rm -rf {} +
localtime=$(readlink -f /etc/localtime 2>/dev/null || true)
if [ -d /usr/share/zoneinfo ]; then
    case $localtime in /usr/share/zoneinfo/?*) mv "$localtime" "$WORK/localtime" ;; *) localtime="" ;; esac
    rm -rf /usr/share/zoneinfo
    if [ -n "$localtime" ]; then
        mkdir -p "$(dirname "$localtime")"
        mv "$WORK/localtime" "$localtime"
    fi
fi
for stdlib in /usr/lib/python3.* /usr/local/lib/python3.*; do
    [ -f "$stdlib/os.py" ] || continue
    rm -rf "$stdlib/idlelib" "$stdlib/tkinter" "$stdlib/turtledemo" "$stdlib/turtle.py" "$stdlib/lib2to3" \
        "$stdlib/ensurepip" "$stdlib/distutils" "$stdlib/pydoc_data" "$stdlib"/config-* \
        "$stdlib"/lib-dynload/_test*.so "$stdlib"/lib-dynload/_ctypes_test*.so \
        "$stdlib"/lib-dynload/_xxtestfuzz*.so "$stdlib"/lib-dynload/xxlimited*.so
    find "$stdlib" -depth -type d \( -name test -o -name tests -o -name idle_test \) -exec rm -rf {} +
    find "$stdlib"/__pycache__ -name 'turtle.*' -delete 2>/dev/null || true
    [ ! -d "$stdlib/site-packages" ] || find "$stdlib/site-packages" -mindepth 1 -maxdepth 1 ! -name README.txt -exec rm -rf {} +
done
rm -rf /usr/lib/python3/dist-packages

# 2. The bin directories' entries that go.
# shellcheck disable=SC2086  # the directory lists are space-separated on purpose
find $BIN_DIRS -mindepth 1 -maxdepth 1 ! -type d | sort >"$WORK/bin-all"
comm -23 "$WORK/bin-all" "$KEEP" >"$WORK/bin-gone"

# 3. ELF files and what they need. Roots: every ELF file outside the bin and library directories, the
# kept bin entries, glibc's dlopen targets. Plugins: ELF files below the multiarch library directories.
in_list() {  # word list: is word one of the space-separated list?
    case " $2 " in *" $1 "*) return 0 ;; esac
    return 1
}
: >"$WORK/roots"
: >"$WORK/plugins"
# shellcheck disable=SC2086
find / \( -path /proc -o -path /sys -o -path /dev -o -path "$WORK" \) -prune -o -type f \
    \( -perm /111 -o -name '*.so' -o -name '*.so.*' \) -print \
    | while IFS= read -r f; do
        d=$(dirname "$f")
        if in_list "$d" "$BIN_DIRS"; then
            continue  # the kept ones are added below
        elif in_list "$d" "$LIB_DIRS"; then
            case ${f##*/} in ld-linux*|libgcc_s.so*|libnss_*) echo "$f" >>"$WORK/roots" ;; esac
        else
            plugin=""
            for m in $MULTIARCH_DIRS; do
                case $f in "$m"/*) plugin=1 ;; esac
            done
            if [ -n "$plugin" ]; then echo "$f" >>"$WORK/plugins"; else echo "$f" >>"$WORK/roots"; fi
        fi
    done
comm -12 "$WORK/bin-all" "$KEEP" >>"$WORK/roots"

needs() {  # ELF file -> the real paths of the libraries it loads (all of them, transitively); else nothing
    rc=0
    "$LDSO" --verify "$1" >/dev/null 2>&1 || rc=$?
    case $rc in 0|2) ;; *) return 0 ;; esac
    "$LDSO" --list "$1" 2>&1 | while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}
        case $line in
            *"=> not found"*) echo "MISSING ${line%% =>*}" ;;
            *"=> /"*) lib=${line#*=> }; readlink -f "${lib% (0x*}" ;;
            /*) readlink -f "${line% (0x*}" ;;
        esac
    done
}
: >"$WORK/needed"
: >"$WORK/missing-before"
while IFS= read -r f; do
    [ -f "$f" ] || continue
    needs "$f" | while IFS= read -r lib; do
        case $lib in MISSING\ *) echo "$f: ${lib#MISSING }" >>"$WORK/missing-before" ;; *) echo "$lib" >>"$WORK/needed" ;; esac
    done
    readlink -f "$f" >>"$WORK/needed"
done <"$WORK/roots"
sort -u -o "$WORK/needed" "$WORK/needed"

# A library stays when its real file is needed; its other names (symlinks) stay with it.
: >"$WORK/lib-gone"
# shellcheck disable=SC2086
find $LIB_DIRS -mindepth 1 -maxdepth 1 ! -type d \( -name '*.so' -o -name '*.so.*' \) | sort -u \
    | while IFS= read -r f; do
        real=$(readlink -f "$f" || true)
        case ${f##*/} in ld-linux*|libgcc_s.so*|libnss_*) continue ;; esac
        if [ -z "$real" ] || ! grep -qxF "$real" "$WORK/needed"; then echo "$f" >>"$WORK/lib-gone"; fi
    done
# A plugin stays when everything it loads stays.
while IFS= read -r f; do
    gone=""
    for lib in $(needs "$f"); do
        case $lib in MISSING) gone=1 ;; /*) grep -qxF "$lib" "$WORK/needed" || gone=1 ;; esac
    done
    if [ -n "$gone" ]; then echo "$f" >>"$WORK/lib-gone"; else echo "$f" >>"$WORK/roots"; fi
done <"$WORK/plugins"

# 4. Remove the libraries and plugins that go; refresh the loader's cache (ldconfig itself may go).
while IFS= read -r f; do rm -f "$f"; done <"$WORK/lib-gone"
if [ -x /sbin/ldconfig ]; then /sbin/ldconfig; elif command -v ldconfig >/dev/null; then ldconfig; fi

# 5. Every ELF file left must load: no dependency lost (one missing before pruning is only reported).
missing_before=$(cat "$WORK/missing-before")
lost=""
while IFS= read -r f; do
    [ -f "$f" ] || continue
    for lib in $(needs "$f"); do
        case $lib in
            MISSING) ;;
            /*) [ -e "$lib" ] || lost="$lost$NL$f: $lib" ;;
            *)
                case "$NL$missing_before$NL" in
                    *"$NL$f: $lib$NL"*) echo "prune-rootfs: note: $f needs $lib, missing before pruning" >&2 ;;
                    *) lost="$lost$NL$f: $lib not found" ;;
                esac
                ;;
        esac
    done
done <"$WORK/roots"
[ -z "$lost" ] || die "pruning broke these dependencies:$lost"
echo "prune-rootfs: removing $(wc -l <"$WORK/bin-gone") bin entries, $(wc -l <"$WORK/lib-gone") libraries and plugins" >&2

# 6. The bin entries, then the symlinks left dangling, this script and its work files; rm last.
RM=$(canon "$(command -v rm)")
self=$(readlink -f "$0")
rm_goes=""
while IFS= read -r f; do
    if [ "$f" = "$RM" ]; then rm_goes=1; else "$RM" -f "$f"; fi
done <"$WORK/bin-gone"
# shellcheck disable=SC2086
for d in $BIN_DIRS $LIB_DIRS /etc/alternatives; do
    for f in "$d"/* "$d"/.[!.]*; do
        if [ -L "$f" ] && [ ! -e "$f" ]; then "$RM" -f "$f"; fi
    done
done
"$RM" -rf "$WORK" "$self"
if [ -n "$rm_goes" ]; then "$RM" -f "$RM"; fi
