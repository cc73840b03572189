#!/usr/bin/env bash
# The explorer's --resume under kill -9 (docs/EXPLORE.md, "Resume"):
#
#   bench/resume.sh [KILLS] [BRANCHES]     (make bench: 20, 48)
#
# One campaign run straight through, then the same campaign (seed,
# budget) killed with -9 KILLS times, each at a moment drawn from a fixed
# seed (1 to 15 s after it started: at boot, at the root, in a round, in
# the middle of writing a round's files), and resumed each time until it
# ends.  The two must have the same queue/, bugs/ and report.json but for
# its timing; prints how many kills landed and the verdict (exit 1 when
# they differ).  CHAOSCONTROL names the binary.
set -uo pipefail
kills=${1:-20}
budget=${2:-48}
cc=${CHAOSCONTROL:-build/chaoscontrol}
work=${RESUME_BENCH_WORK:-build/bench/resume}
scenario=examples/raft/leader_no_stepdown.json
mkdir -p "$work"
rm -rf "$work/straight" "$work/killed"

"$cc" explore "$scenario" --seed 1 --branches "$budget" \
	--out "$work/straight" --json >"$work/straight.json" 2>"$work/straight.log"
want=$?

RANDOM=20261203 # the moments are the same on every run of the bench
landed=0 args=(--seed 1 --branches "$budget")
for ((k = 0; k < kills; k++)); do
	after=$((1 + RANDOM % 15))
	# With the options each time: a kill before the first state.json
	# makes --resume start over with the command line's options.
	[[ -d $work/killed ]] && args=(--resume --seed 1 --branches "$budget")
	timeout -s KILL "$after" "$cc" explore "$scenario" "${args[@]}" \
		--out "$work/killed" >/dev/null 2>>"$work/killed.log"
	rc=$?
	if ((rc == 137)); then
		landed=$((landed + 1))
	else # it ended before the kill: nothing left to interrupt
		break
	fi
done
"$cc" explore "$scenario" --resume --seed 1 --branches "$budget" \
	--out "$work/killed" --json \
	>"$work/killed.json" 2>>"$work/killed.log"
got=$?

same=yes
for f in straight killed; do
	jq -S 'del(.timing)' "$work/$f/report.json" >"$work/$f.det.json" || same=no
done
cmp -s "$work/straight.det.json" "$work/killed.det.json" || same=no
diff -r "$work/straight/queue" "$work/killed/queue" >/dev/null || same=no
diff -r "$work/straight/bugs" "$work/killed/bugs" >/dev/null || same=no
((want == got)) || same=no
echo "resume: $landed kills of $kills landed (the campaign ended first" \
	"after $landed); exit $got, straight $want; queue/, bugs/ and report" \
	"the same: $same"
[[ $same == yes ]]
