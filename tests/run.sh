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
#
# CC_SUITE_TIMEOUT=S kills a suite (its whole process group) that runs
# longer than S seconds and counts it as failed (retried like any
# failure), printing the tests it had started and not finished; unset
# or 0, suites run unbounded.  The hardware tier sets it: a hang in
# nested TCG must cost minutes, not CI's whole budget.
#
# CC_SUITE_DONE_DIR=DIR marks each suite that passed there and skips a
# suite already marked: the hardware tier sets it, so an outer VM that
# dies costs the suite it died in, not the whole tier again.
set -u
tier=$1
shift
if [[ $tier != unit ]] && ! [[ -r /dev/kvm && -w /dev/kvm ]]; then
	echo "tests: /dev/kvm is missing or not accessible: the $tier tests" \
		"need KVM and cannot run on this host" >&2
	exit 1
fi
# One run of suite $1; with a time limit, verbose into a log so that a
# run killed at the limit can name the tests it left unfinished.
run_suite() {
	local limit=${CC_SUITE_TIMEOUT:-0}
	if ((limit <= 0)); then
		"$1" --full-stats -j"${CC_TEST_JOBS:-2}"
		return
	fi
	local log rc
	log=$(mktemp)
	timeout --kill-after=30 "$limit" "$1" --full-stats --verbose \
		-j"${CC_TEST_JOBS:-2}" >"$log" 2>&1
	rc=$?
	grep -v -E '^\[(RUN |PASS)\]' "$log"
	if ((rc == 124 || rc == 137)); then
		echo "=== ${1#*/tests/}: TIMEOUT: killed after $limit s; unfinished:"
		awk '/^\[RUN \]/ {run[$3] = 1} /^\[(PASS|FAIL|SKIP)\]/ {
			t = $2; sub(/:$/, "", t); delete run[t] }
			END {for (t in run) print "    " t}' "$log" | LC_ALL=C sort
	fi
	rm -f "$log"
	return "$rc"
}

failed=()
flaky=()
for t in "$@"; do
	name=${t#*/tests/}
	done_mark=${CC_SUITE_DONE_DIR:+$CC_SUITE_DONE_DIR/${name//\//_}.passed}
	if [[ -n $done_mark && -f $done_mark ]]; then
		echo "=== $name: passed before the outer VM restarted"
		continue
	fi
	echo "=== $name"
	start=$SECONDS
	tries=0 ok=0
	while :; do
		run_suite "$t" && ok=1 && break
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
	if ((ok)) && [[ -n $done_mark ]]; then
		mkdir -p "$CC_SUITE_DONE_DIR" && : >"$done_mark"
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
