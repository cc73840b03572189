#!/bin/bash
# PID 1 of the outer VM that `make test-hw` boots (tests/hw/run.sh):
#
#   inside.sh BUILD_DIR TIER|TIER:SUITE,...|SCRIPT.sh...
#
# The root file system is the host's own, read-only over 9p; BUILD_DIR is
# shared read-write on top of it, so every test binary, the guest kernel
# and the boot cache (kept in BUILD_DIR/hw/cache, apart from the host's
# PVM entries) are where the tests expect them.  Runs tests/run.sh for
# each tier against the real /dev/kvm here, writing TIER.log, TIER.rc and
# TIER.seconds under BUILD_DIR/hw/results.  When it returns, the kernel
# panics on the death of init and, with panic=-1 and QEMU's -no-reboot,
# the outer VM is gone.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 CI=${CI:-}
b=$1
shift
say() { printf 'test-hw(inside): %s\n' "$*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
# /tmp becomes a tmpfs too; a clone that lives under /tmp (CI's may) is
# carried over onto it by a bind mount at the same path.
repo=$(cd "$b/.." && pwd)
case $repo/ in
/tmp/*)
	mkdir -p /run/cc-repo
	mount --bind "$repo" /run/cc-repo
	mount -t tmpfs tmpfs /tmp
	mkdir -p "$repo"
	mount --bind /run/cc-repo "$repo"
	;;
*) mount -t tmpfs tmpfs /tmp ;;
esac
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ccbuild "$b" ||
	{ say "cannot mount the build tree at $b"; exit 1; }
out=$b/hw/results
mkdir -p "$out" "$b/hw/cache"
export XDG_CACHE_HOME=$b/hw/cache
# Two retries per failed suite: nested TCG has flakes of its own
# (docs/DETERMINISM.md); a suite that needs it is reported FLAKY.
export CC_TEST_RETRIES=${CC_TEST_RETRIES:-2}
# A suite that hangs (the CI machine once lost an hour in the micro tier)
# is killed after this long, names its unfinished tests, and is retried.
# The slowest suite here takes a few minutes.
export CC_SUITE_TIMEOUT=${CC_SUITE_TIMEOUT:-900}
# A suite that passed is not run again after an outer VM death
# (tests/hw/run.sh clears the marks when it starts).
export CC_SUITE_DONE_DIR=$out/done
# Tests too slow for nested TCG in CI skip themselves (and say so).
export CC_TEST_NESTED=1
cd "$b/.." || exit 1

# A sign of life for tests/hw/run.sh, which kills a VM whose console
# stays silent (a hung outer kernel); not a test-hw(inside) line.
(while sleep 60; do echo "test-hw-alive: $(cut -d' ' -f1 /proc/uptime) s"; done) &

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
[[ -c /dev/kvm ]] || { say "no /dev/kvm: KVM_AMD did not start (no SVM?)"; }
"$b/chaoscontrol" doctor 2>&1 | sed 's/^/test-hw(inside): doctor: /'
for tier in "$@"; do
	start=$SECONDS
	if [[ $tier == *.sh ]]; then # a script of the caller's (benchmarks, experiments)
		say "script $tier"
		bash "$tier" >"$out/${tier##*/}.log" 2>&1
		rc=$?
		tier=${tier##*/}
	else
		# TIER, or TIER:SUITE,SUITE... for some of its suites only.
		only=
		[[ $tier == *:* ]] && only=,${tier#*:}, && tier=${tier%%:*}
		mapfile -t bins < <(find "$b/tests/$tier" -maxdepth 1 -type f -name 'test_*' -perm -u+x | LC_ALL=C sort)
		if [[ -n $only ]]; then
			picked=()
			for bin in "${bins[@]}"; do
				[[ $only == *,${bin##*/},* ]] && picked+=("$bin")
			done
			bins=("${picked[@]}")
		fi
		say "tier $tier: ${#bins[@]} suites${only:+ (${only:1:-1})}"
		bash tests/run.sh "$tier" "${bins[@]}" >"$out/$tier.log" 2>&1
		rc=$?
	fi
	echo $((SECONDS - start)) >"$out/$tier.seconds"
	echo "$rc" >"$out/$tier.rc"
	grep -E '^=== |Synthesis|^tests \(' "$out/$tier.log" | sed 's/^/test-hw(inside): /'
	say "tier $tier: exit $rc in $((SECONDS - start)) s"
done
sync
say "done"
