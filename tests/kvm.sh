#!/usr/bin/env bash
# Runs test tiers that need KVM (micro, linux) where there is one:
#
#   tests/kvm.sh BUILD_DIR TIER...   (TIER, or TIER:SUITE,SUITE...)
#
# On a host with a usable /dev/kvm (PVM, or hardware KVM) the tiers run
# here (tests/run.sh).  On a host without one (a machine that is itself
# a VM with no nested virtualisation: its kernel says "kvm-pvm: this
# kernel is itself a kvm-pvm guest"), they run on hardware KVM inside
# QEMU, whose TCG emulates an AMD CPU with SVM (tests/hw/run.sh): the
# same binaries, with CC_TEST_NESTED=1 for the few tests too slow there.
# The choice is by function (can /dev/kvm be opened?), never by speed.
set -euo pipefail
(($# >= 2)) || { echo "usage: tests/kvm.sh BUILD_DIR TIER..." >&2; exit 2; }
b=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
if [[ -r /dev/kvm && -w /dev/kvm ]] && exec 3<>/dev/kvm; then
	exec 3>&-
	rc=0
	for tier in "$@"; do
		# TIER, or TIER:SUITE,SUITE... for some of its suites only.
		only=
		[[ $tier == *:* ]] && only=,${tier#*:}, && tier=${tier%%:*}
		bins=()
		while IFS= read -r bin; do
			[[ -z $only || $only == *,${bin##*/},* ]] && bins+=("$bin")
		done < <(find "$b/tests/$tier" -maxdepth 1 -type f -name 'test_*' -perm -u+x | LC_ALL=C sort)
		bash "$here/run.sh" "$tier" "${bins[@]}" || rc=1
	done
	exit "$rc"
fi
echo "tests: no usable /dev/kvm on this host: the $* tiers run on" \
	"hardware KVM inside QEMU (tests/hw/run.sh)"
exec bash "$here/hw/run.sh" "$b" "$@"
