#!/usr/bin/env bash
# Runs Criterion test binaries and sums them up.
#   tests/run.sh TIER BINARY...
# Integration tiers (micro, linux, all) need /dev/kvm: without it they
# fail loudly instead of skipping.
#
# CC_TEST_RETRIES=N re-runs a failed suite up to N times (default 0).
# Only the hardware tier sets it (tests/hw/inside.sh): nested TCG has
# flakes of its own (docs/DETERMINISM.md).  A suite that passes only on
# a retry is printed as FLAKY, and so is its failing run's summary.
set -u
tier=$1
shift
if [[ $tier != unit ]] && ! [[ -r /dev/kvm && -w /dev/kvm ]]; then
	echo "tests: /dev/kvm is missing or not accessible: the $tier tests" \
		"need KVM and cannot run on this host" >&2
	exit 1
fi
failed=()
flaky=()
for t in "$@"; do
	name=${t#*/tests/}
	echo "=== $name"
	start=$SECONDS
	tries=0 ok=0
	while :; do
		"$t" --full-stats -j"${CC_TEST_JOBS:-2}" && ok=1 && break
		((tries < ${CC_TEST_RETRIES:-0})) || break
		tries=$((tries + 1))
		echo "=== $name: failed; running it again (retry $tries)"
	done
	if ((!ok)); then
		failed+=("$name")
	elif ((tries)); then
		echo "=== $name: FLAKY: passed on retry $tries"
		flaky+=("$name")
	fi
	echo "=== $name: $((SECONDS - start)) s"
done
if ((${#flaky[@]})); then
	echo "tests ($tier): FLAKY (passed on a retry): ${flaky[*]}"
fi
if ((${#failed[@]})); then
	echo "tests ($tier): FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "tests ($tier): all ${#} suites passed"
