#!/usr/bin/env bash
# Build (or find in the cache) the ChaosControl guest kernel.
#
#   guest/kernel/build.sh [--flavour default|kcov|outer] [--jobs N]
#
# Prints the cache directory holding vmlinux, bzImage, System.map and config
# as the only line on stdout. Everything else goes to stderr; the full build
# log goes to a file whose path is printed on failure.
#
# Cache key: sha256 over the linux-source tarball's file name and size, the
# config fragment(s), every file in guest/kernel/patches/ and this script.
# Flavour "outer" is not a guest kernel: it is the hardware-KVM test
# host that `make test-hw` boots under QEMU (KVM_AMD built in, 9p root;
# config-outer.fragment alone, no patches: the stock kernel is the host).
# Cache entry: ${XDG_CACHE_HOME:-$HOME/.cache}/chaoscontrol/kernel/<flavour>-<key16>/
#
# Environment:
#   CC_LINUX_TARBALL  kernel source tarball (default /usr/src/linux-source-6.1.tar.xz)
#
# See docs/GUEST-KERNEL.md.
set -euo pipefail

die() {
    printf 'build.sh: error: %s\n' "$*" >&2
    exit 1
}
note() { printf '[kernel] %s\n' "$*" >&2; }

usage() {
    sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

flavour=default
jobs=$(nproc 2>/dev/null || echo 2)
while (($#)); do
    case "$1" in
        --flavour) [[ $# -ge 2 ]] || usage; flavour=$2; shift 2 ;;
        --flavour=*) flavour=${1#*=}; shift ;;
        --jobs | -j) [[ $# -ge 2 ]] || usage; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        -h | --help) usage 0 ;;
        *) printf 'build.sh: unknown argument: %s\n' "$1" >&2; usage ;;
    esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive integer, got '$jobs'"

script_path=$(readlink -f -- "${BASH_SOURCE[0]}")
kdir=$(dirname -- "$script_path")            # <repo>/guest/kernel
patch_dir=$kdir/patches

fragments=("$kdir/config.fragment")
case "$flavour" in
    default) ;;
    kcov) fragments+=("$kdir/config-kcov.fragment") ;;
    outer) fragments=("$kdir/config-outer.fragment") patch_dir=/nonexistent ;;
    *) die "unknown flavour '$flavour' (want default, kcov or outer)" ;;
esac

tarball=${CC_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
[[ -f $tarball ]] || die "kernel source tarball not found: $tarball (apt-get install linux-source-6.1)"
for f in "${fragments[@]}"; do [[ -f $f ]] || die "missing config fragment: $f"; done

shopt -s nullglob
patch_files=("$patch_dir"/*)
patches=("$patch_dir"/*.patch)
shopt -u nullglob

# --- cache key ---------------------------------------------------------------
# One "label sha256" line per input; the key is the sha256 of that manifest.
tar_name=$(basename -- "$tarball")
tar_size=$(stat -c %s -- "$tarball")
hash_of() { sha256sum -- "$1" | cut -d' ' -f1; }

source_manifest() { # inputs of the patched source tree
    printf 'tarball %s %s\n' "$tar_name" "$tar_size"
    local f
    for f in ${patch_files[@]+"${patch_files[@]}"}; do
        [[ -f $f ]] && printf 'patch %s %s\n' "$(basename -- "$f")" "$(hash_of "$f")"
    done
    return 0
}
full_manifest() {
    source_manifest
    printf 'flavour %s\n' "$flavour"
    local f
    for f in "${fragments[@]}"; do
        printf 'fragment %s %s\n' "$(basename -- "$f")" "$(hash_of "$f")"
    done
    printf 'build.sh %s\n' "$(hash_of "$script_path")"
}
key=$(full_manifest | sha256sum | cut -d' ' -f1)
key16=${key:0:16}
source_key=$(source_manifest | sha256sum | cut -d' ' -f1)

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/chaoscontrol/kernel
final=$cache_root/$flavour-$key16
outputs=(vmlinux bzImage System.map config)

complete() {
    local d=$1 f
    for f in "${outputs[@]}"; do [[ -s $d/$f ]] || return 1; done
}

if complete "$final"; then
    note "cached: $final"
    printf '%s\n' "$final"
    exit 0
fi

# --- build -------------------------------------------------------------------
mkdir -p -- "$cache_root"
# One build per flavour at a time (the work tree is shared by all keys of a
# flavour so that a config change rebuilds incrementally).
work=$cache_root/work-$flavour
exec 9>"$work.lock"
if ! flock -n 9; then
    note "another build of flavour '$flavour' is running; waiting for it"
    flock 9
fi
if complete "$final"; then # built by whoever held the lock
    note "cached: $final"
    printf '%s\n' "$final"
    exit 0
fi

mkdir -p -- "$work"
log=$work/build-$key16.log
: >"$log"
src=$work/src
stamp=$work/source.stamp
start=$SECONDS

fail() {
    note "FAILED: $*"
    note "full log: $log"
    if [[ -s $log ]]; then
        note "last lines of the log:"
        tail -n 25 -- "$log" | sed 's/^/    /' >&2
    fi
    exit 1
}

# 1. Patched source tree, reused if its stamp matches (interrupted builds resume).
if [[ -d $src && -f $stamp && $(<"$stamp") == "$source_key" ]]; then
    note "reusing extracted tree $src"
else
    note "extracting $tarball"
    rm -rf -- "$src" "$src.tmp" "$stamp"
    mkdir -p -- "$src.tmp"
    tar -xJf "$tarball" -C "$src.tmp" --strip-components=1 >>"$log" 2>&1 ||
        fail "extracting $tarball"
    for p in ${patches[@]+"${patches[@]}"}; do
        note "applying $(basename -- "$p")"
        {
            echo "=== patch -p1 < $p"
            patch -p1 --forward --batch -d "$src.tmp" <"$p"
        } >>"$log" 2>&1 || fail "patch $(basename -- "$p") does not apply"
    done
    mv -T -- "$src.tmp" "$src"
    printf '%s\n' "$source_key" >"$stamp"
fi

# Reproducible identity strings (uname -v, /proc/version) across machines.
export KBUILD_BUILD_USER=chaoscontrol KBUILD_BUILD_HOST=chaoscontrol
export KBUILD_BUILD_VERSION=1 KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
kmake() { make -C "$src" ARCH=x86_64 "$@"; }

# 2. Configuration: tinyconfig + fragment(s) + olddefconfig.
note "configuring (tinyconfig + ${fragments[*]##*/})"
{
    echo "=== make tinyconfig"
    kmake tinyconfig
    echo "=== merge_config.sh -m"
    (cd "$src" && ./scripts/kconfig/merge_config.sh -m .config "${fragments[@]}")
    echo "=== make olddefconfig"
    kmake olddefconfig
} >>"$log" 2>&1 || fail "configuration"

# 3. Verify every option of the fragment(s) made it (last fragment wins).
declare -A want=()
order=()
for f in "${fragments[@]}"; do
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            sym=${BASH_REMATCH[1]} val=n
        else
            continue
        fi
        [[ -v want[$sym] ]] || order+=("$sym")
        want[$sym]=$val
    done <"$f"
done
declare -A have=()
while IFS= read -r line; do
    if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
        have[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        have[${BASH_REMATCH[1]}]=n
    fi
done <"$src/.config"
bad=()
for sym in "${order[@]}"; do
    w=${want[$sym]}
    h=${have[$sym]-n} # absent from .config means "n" (dependencies unmet)
    [[ $w == "$h" ]] || bad+=("$sym: wanted $w, got $h")
done
if ((${#bad[@]})); then
    note "the final .config does not honour ${#bad[@]} fragment option(s)"
    note "(missing dependency, or a choice/select overrides it; see Kconfig):"
    printf '    %s\n' "${bad[@]}" >&2
    fail "config verification ($src/.config)"
fi
note "config verified: ${#order[@]} options honoured"

# 4. Compile, with progress on stderr.
note "building vmlinux bzImage with -j$jobs (log: $log)"
marker=$work/.build-start
: >"$marker"
echo "=== make -j$jobs vmlinux bzImage" >>"$log"
kmake -j"$jobs" vmlinux bzImage >>"$log" 2>&1 &
make_pid=$!
trap 'kill "$make_pid" 2>/dev/null || true; exit 130' INT
trap 'kill "$make_pid" 2>/dev/null || true; exit 143' TERM
last=$SECONDS
while kill -0 "$make_pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - last >= 20)); then
        last=$SECONDS
        nobj=$(find "$src" -name '*.o' -newer "$marker" 2>/dev/null | wc -l)
        tailline=$(grep -E '^  [A-Z]' "$log" 2>/dev/null | tail -n 1 | sed 's/^ *//') || true
        note "$((SECONDS - start))s elapsed, $nobj objects built; ${tailline:-...}"
    fi
done
rc=0
wait "$make_pid" || rc=$?
trap - INT TERM
((rc == 0)) || fail "make vmlinux bzImage (exit $rc)"

# 5. Install into a temp dir, then rename: a half-built entry never looks complete.
tmp=$(mktemp -d "$cache_root/.install-$flavour-$key16.XXXXXX")
cp -- "$src/vmlinux" "$tmp/vmlinux"
cp -- "$src/arch/x86/boot/bzImage" "$tmp/bzImage"
cp -- "$src/System.map" "$tmp/System.map"
cp -- "$src/.config" "$tmp/config"
full_manifest >"$tmp/manifest"
printf 'key %s\n' "$key" >>"$tmp/manifest"
chmod 755 "$tmp"
if ! mv -T -- "$tmp" "$final" 2>/dev/null; then
    rm -rf -- "$tmp"
    complete "$final" || die "could not install $final"
fi
note "built in $((SECONDS - start))s: $final"
printf '%s\n' "$final"
