#!/usr/bin/env bash
# The correct Raft under random faults, seed after seed, for a while:
# every safety property must hold in every run (a failure here is a bug
# in the target or the platform, never noise), and the watchdog must stay
# silent.
#
#   bench/raft_soak.sh [SECONDS [PPM [TICKS]]]     defaults 1800, 3000, 3000
#
# Each run is examples/raft/raft.json without its schedule, with
# --random-faults PPM (every fault kind the engine has) on the next seed.
# A run that breaks a property keeps its report in build/raft-soak/ and
# makes the script exit 1.  CC_SOAK_FIRST_SEED (1) picks where to start;
# CI runs a short version (tests/linux/test_raft.c).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1800} ppm=${2:-3000} ticks=${3:-3000}
cc=${CHAOSCONTROL:-build/chaoscontrol}
out=build/raft-soak
mkdir -p "$out"
echo '{"faults": []}' >"$out/none.json"
safety='Election Safety|Log Matching|Leader Completeness|State Machine Safety|an acknowledged write|acknowledged writes keep'
seed=${CC_SOAK_FIRST_SEED:-1} runs=0 bad=0 faults=0 virtual=0
start=$SECONDS
while ((SECONDS - start < budget)); do
	rep=$out/seed-$seed.json
	rc=0
	"$cc" run examples/raft/raft.json --schedule "$out/none.json" \
		--random-faults "$ppm" --ticks "$ticks" --seed "$seed" --json \
		>"$rep" 2>"$out/seed-$seed.console" || rc=$?
	if ((rc > 1)); then
		echo "soak: seed $seed: chaoscontrol exited $rc (see $out/seed-$seed.console)"
		bad=$((bad + 1))
	else
		broken=$(jq -r --arg re "^($safety)" '.properties.properties[]
			| select((.message | test($re)) and .failures > 0)
			| "\(.message) (\(.failures))"' "$rep")
		dog=$(jq '[.vm[].watchdog_fires] | add' "$rep")
		n=$(jq '.faults | length' "$rep")
		faults=$((faults + n))
		if [[ -n $broken || $dog != 0 ]]; then
			bad=$((bad + 1))
			echo "soak: seed $seed: BROKEN: ${broken:-watchdog fired $dog times}"
		else
			rm -f "$rep" "$out/seed-$seed.console"
		fi
	fi
	runs=$((runs + 1))
	virtual=$((virtual + ticks))
	printf 'soak: %d runs, %d faults, %d s virtual, %d broken, %d s wall\n' \
		"$runs" "$faults" "$((virtual / 1000))" "$bad" "$((SECONDS - start))"
	seed=$((seed + 1))
done
echo "soak: done: $runs seeds from ${CC_SOAK_FIRST_SEED:-1}, $faults random faults, $bad broken"
((bad == 0))
