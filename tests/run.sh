#!/usr/bin/env bash
# Runs Criterion test binaries and sums them up.
#   tests/run.sh TIER BINARY...
# Integration tiers (micro, linux, all) need /dev/kvm: without it they
# fail loudly instead of skipping.
set -u
tier=$1
shift
if [[ $tier != unit ]] && ! [[ -r /dev/kvm && -w /dev/kvm ]]; then
	echo "tests: /dev/kvm is missing or not accessible: the $tier tests" \
		"need KVM and cannot run on this host" >&2
	exit 1
fi
failed=()
for t in "$@"; do
	name=${t#*/tests/}
	echo "=== $name"
	start=$SECONDS
	if ! "$t" --full-stats -j"${CC_TEST_JOBS:-2}"; then
		failed+=("$name")
	fi
	echo "=== $name: $((SECONDS - start)) s"
done
if ((${#failed[@]})); then
	echo "tests ($tier): FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "tests ($tier): all ${#} suites passed"
