#!/usr/bin/env bash
# The explorer against the Raft target's seeded bugs (docs/EXPLORE.md):
#
#   bench/bughunt.sh [SEEDS] [BRANCHES]     (make bench: 3 seeds, 200)
#
# For each seeded bug and campaign seed: the guided explorer and the
# random baseline with the same budget of simulated time (guided:
# BRANCHES branches of 500 ticks; random: as many runs from the root to
# the scenario's end as make the same ticks), and the branches and wall
# seconds to the first report of the bug's property (or "-" when the
# budget ran out first); for each seed, the correct Raft with the same
# budget, which must give no report.  Each campaign is one line of
# $BUGHUNT_RESULTS (default build/bench/bughunt.tsv); a campaign already
# there is not run again, so the figures accumulate over sessions.  Ends
# with the medians per bug and mode.  BUGHUNT_MODES (default "guided
# random"; also "choices": guided with --choices, "combos": with
# --combos) picks the modes to run: after a change that leaves the random
# baseline's code path alone, its campaigns (deterministic in branches)
# need not run again.  CHAOSCONTROL names the binary; on a
# host without /dev/kvm, run it inside QEMU:
#   bash tests/hw/exec.sh build bash bench/bughunt.sh 3 200
set -uo pipefail
seeds=${1:-3}
budget=${2:-200}
cc=${CHAOSCONTROL:-build/chaoscontrol}
results=${BUGHUNT_RESULTS:-build/bench/bughunt.tsv}
work=${BUGHUNT_WORK:-build/bench/bughunt}
modes=" ${BUGHUNT_MODES:-guided random} "
mkdir -p "$(dirname "$results")" "$work"
[[ -f $results ]] || printf 'bug\tseed\tmode\tbudget\tbranches\tseconds\tbugs\twatchdog\tunverified\twall\tticks_run\n' >"$results"

declare -A property=(
	[double_vote]="Election Safety"
	[leader_no_stepdown]="Election Safety"
	[skip_truncate]="Log Matching"
	[accept_stale_term]="State Machine Safety"
	[premature_commit]="State Machine Safety"
	[fig8_commit]="State Machine Safety"
)
# BUGHUNT_BUGS: which of them (default all six).
read -r -a bugs <<<"${BUGHUNT_BUGS:-accept_stale_term double_vote skip_truncate leader_no_stepdown premature_commit fig8_commit}"

# One campaign, appended to the results unless it is there.
campaign() {
	local bug=$1 seed=$2 mode=$3 scenario=$4
	[[ $modes == *" $mode "* ]] || return 0
	if awk -F'\t' -v b="$bug" -v s="$seed" -v m="$mode" -v n="$budget" \
		'$1 == b && $2 == s && $3 == m && $4 == n {found = 1}
		 END {exit !found}' "$results"; then
		return
	fi
	local out=$work/$bug-$seed-$mode
	rm -rf "$out"
	local flags=() n=$budget
	case $mode in
	choices) flags=(--choices) ;; # input-tree mode
	combos) flags=(--combos) ;;   # fault/status combinations as novelty
	esac
	if [[ $mode == random ]]; then
		# The same simulated time: a random branch runs from the root
		# (~320 ticks) to the scenario's end.
		local ticks
		ticks=$(jq -r '.ticks' "$scenario")
		n=$(((budget * 500 + ticks - 321) / (ticks - 320)))
		flags=(--random)
	fi
	local t0=$SECONDS
	"$cc" explore "$scenario" --seed "$seed" --branches "$n" \
		--out "$out" "${flags[@]}" --json >"$out.json" 2>"$out.log"
	local rc=$? wall=$((SECONDS - t0))
	if ((rc != 0 && rc != 1)); then
		echo "bughunt: $bug seed $seed $mode: explore exited $rc (see $out.log)" >&2
		return
	fi
	local prop=${property[$bug]:-}
	jq -r --arg bug "$bug" --arg seed "$seed" --arg mode "$mode" \
		--arg budget "$budget" --arg prop "$prop" --arg wall "$wall" '
		([.bugs | to_entries[] | select($prop != "" and
			(.value.what | startswith($prop)))] | first) as $hit
		| [$bug, $seed, $mode, $budget,
		   (if $hit then ($hit.value.branch | tostring) else "-" end),
		   (if $hit then ((.timing.bugs_found_s[$hit.key] // 0) * 10
			| round / 10 | tostring) else "-" end),
		   (.bugs | length | tostring),
		   (.watchdog_branches | tostring), (.unverified | tostring),
		   $wall, (.ticks_run | tostring)] | @tsv' "$out.json" >>"$results"
	tail -n 1 "$results"
}

for ((seed = 1; seed <= seeds; seed++)); do
	for bug in "${bugs[@]}"; do
		campaign "$bug" "$seed" guided "examples/raft/$bug.json"
		campaign "$bug" "$seed" random "examples/raft/$bug.json"
	done
	campaign correct "$seed" guided examples/raft/raft.json
done

echo "== bughunt: medians over the campaigns in $results (budget $budget)"
awk -F'\t' -v n="$budget" '
	NR > 1 && $4 == n {
		key = $1 " " $3
		runs[key]++
		if ($5 != "-") { b[key, ++found[key]] = $5; s[key, found[key]] = $6 }
		reports[key] += $7
	}
	function median(arr, key, k,   i, j, t, v) {
		for (i = 1; i <= k; i++) v[i] = arr[key, i] + 0
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	}
	END {
		for (key in runs) {
			k = found[key] + 0
			if (key ~ /^correct /)
				printf "%-28s %d campaigns, %d reports (must be 0)\n", key, runs[key], reports[key]
			else if (k)
				printf "%-28s found in %d/%d; median %s branches, %s s\n", key, k, runs[key], median(b, key, k), median(s, key, k)
			else
				printf "%-28s found in 0/%d\n", key, runs[key]
		}
	}' "$results" | LC_ALL=C sort
