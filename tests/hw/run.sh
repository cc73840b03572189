#!/usr/bin/env bash
# The hardware-KVM tier: runs test tiers against a real (not PVM) KVM.
#
#   tests/hw/run.sh BUILD_DIR TIER...        (make test-hw)
#   tests/hw/run.sh BUILD_DIR TIER:SUITE,... (some of a tier's suites)
#   tests/hw/run.sh BUILD_DIR PATH/SCRIPT.sh  (any script, run inside)
#
# QEMU's TCG emulates an AMD CPU with SVM and nested paging; the outer
# kernel (guest/kernel/build.sh --flavour outer: KVM_AMD built in) boots
# on it with the host's root file system shared read-only over 9p and
# BUILD_DIR read-write, and tests/hw/inside.sh runs tests/run.sh for
# each TIER there.  The results come back through BUILD_DIR/hw/results;
# this script prints each tier's closing lines and time and exits
# non-zero if any tier failed or did not report.  The serial console is
# kept in BUILD_DIR/hw/console.log.
#
# Environment: CC_HW_MEM (outer VM memory, default 8G), CC_HW_CPUS (2),
# CC_HW_BUDGET (seconds for all boots together, default 3600: each boot
# is killed when the budget is spent, and no boot starts with less than
# 300 s of it left), CC_HW_BOOTS (outer VM boots for tiers a dead VM
# left, default 3).
set -euo pipefail
die() { printf 'test-hw: %s\n' "$*" >&2; exit 1; }
(($# >= 2)) || die "usage: tests/hw/run.sh BUILD_DIR TIER..."
b=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[[ $b == "$repo/build" || $b == "$repo"/build-* ]] ||
	die "BUILD_DIR must be the repository's build tree ($repo/build*)"
qemu=$(command -v qemu-system-x86_64) ||
	die "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
outer=$(bash "$repo/guest/kernel/build.sh" --flavour outer) ||
	die "the outer kernel did not build"

res=$b/hw/results
rm -rf "$res"
mkdir -p "$res"
console=$b/hw/console.log
echo "test-hw: QEMU TCG, -cpu EPYC,+svm,+npt, ${CC_HW_CPUS:-2} CPUs, ${CC_HW_MEM:-8G}; tiers: $*"
echo "test-hw: outer kernel $outer/bzImage; console in $console"

# One boot of the outer VM, killed after $1 seconds, running tiers
# "${@:2}" (inside.sh writes their results); sets qemu_rc.
boot_outer() {
	local limit=$1
	shift
	local append="console=ttyS0 root=ccroot rootfstype=9p ro panic=-1 reboot=t"
	append+=" rootflags=trans=virtio,version=9p2000.L,msize=512000"
	append+=" init=$here/inside.sh -- $b $*"
	set +e
	rm -f "$b/hw/qemu.rc"
	(timeout --signal=KILL "$limit" "$qemu" \
		-accel tcg,thread=multi -cpu EPYC,+svm,+npt \
		-smp "${CC_HW_CPUS:-2}" -m "${CC_HW_MEM:-8G}" \
		-nodefaults -display none -no-reboot -monitor none \
		-serial stdio -kernel "$outer/bzImage" -append "$append" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=ccroot \
		-fsdev local,id=build,path="$b",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=build,mount_tag=ccbuild \
		</dev/null 2>&1 | tee "$console" | grep --line-buffered '^test-hw(inside)'
	echo "${PIPESTATUS[0]}" >"$b/hw/qemu.rc") &
	local pipe=$!
	# The outer kernel sometimes hangs rather than dies (CI once waited
	# an hour): inside.sh writes a line a minute, so a console silent
	# for CC_HW_SILENCE seconds (default 600) means a hung VM.
	local quiet=${CC_HW_SILENCE:-600}
	while kill -0 "$pipe" 2>/dev/null; do
		sleep 10
		if [[ -f $console ]] &&
			(($(date +%s) - $(stat -c %Y "$console") > quiet)); then
			echo "test-hw: the outer VM's console was silent for $quiet s: killing it"
			pkill -KILL -f -- "init=$here/inside.sh -- $b " || true
			break
		fi
	done
	wait "$pipe"
	qemu_rc=$(cat "$b/hw/qemu.rc" 2>/dev/null || echo killed)
	set -e
}

# A tier's results are named after it: "linux" for linux:test_tsc, and
# a script's after its file name.
tier_name() {
	local t=${1%%:*}
	echo "${t##*/}"
}

# The outer VM itself sometimes dies under nested TCG (a reset with no
# message, or an oops in its KVM: docs/DETERMINISM.md).  A tier that did
# not report ran in a VM that died: boot again for the tiers left, up
# to CC_HW_BOOTS times in all, keeping each dead boot's console.
todo=("$@")
boots=0
start=$SECONDS
budget=${CC_HW_BUDGET:-3600}
while ((${#todo[@]})) && ((boots < ${CC_HW_BOOTS:-3})); do
	left_s=$((budget - SECONDS)) # SECONDS: since this script began, outer kernel build included
	if ((left_s < 300)); then
		echo "test-hw: budget of $budget s spent; not booting again for: ${todo[*]##*/}"
		break
	fi
	boots=$((boots + 1))
	boot_outer "$left_s" "${todo[@]}"
	echo "test-hw: outer VM ended after $((SECONDS - start)) s (QEMU exit status $qemu_rc)"
	left=()
	for tier in "${todo[@]}"; do
		[[ -f $res/$(tier_name "$tier").rc ]] || left+=("$tier")
	done
	if ((${#left[@]})); then
		cp "$console" "$b/hw/console.died-$boots.log"
		echo "test-hw: FLAKY: the outer VM died under ${left[0]##*/}" \
			"(console kept in $b/hw/console.died-$boots.log);" \
			"booting it again for: ${left[*]}"
	fi
	todo=("${left[@]}")
done

failed=()
for tier in "$@"; do
	tier=$(tier_name "$tier")
	if [[ ! -f $res/$tier.rc ]]; then
		echo "test-hw: tier $tier did not report (see $console); last lines:"
		grep -v '^qemu-system' "$console" | tail -n 5 | sed 's/^/    /'
		if [[ -f $res/$tier.log ]]; then tail -n 3 "$res/$tier.log" | sed 's/^/    /'; fi
		failed+=("$tier")
		continue
	fi
	echo "=== hw/$tier ($(cat "$res/$tier.seconds") s inside)"
	grep -E 'Synthesis|^tests \(|FAIL|FLAKY|TIMEOUT|^    ' "$res/$tier.log" | tail -n 40 || true
	if [[ $(cat "$res/$tier.rc") != 0 ]]; then
		failed+=("$tier")
		# Why, in CI's own log: the logs stay behind on its machine.
		echo "--- hw/$tier: the failures' messages"
		grep -E -A14 'Assertion Failed|Timed out|TIMEOUT|CRASH|Test failed' \
			"$res/$tier.log" | head -n 120 || true
	fi
done
if ((${#failed[@]})); then
	echo "test-hw: FAILED: ${failed[*]} (logs in $res)" >&2
	exit 1
fi
echo "test-hw: all $# tiers passed on hardware KVM"
