#!/usr/bin/env bash
# The explorer's speed on the 3-VM Raft cluster (docs/EXPLORE.md):
#
#   bench/explore.sh [BRANCHES]     (make bench: 64)
#
# One guided campaign of 500-tick branches on the correct Raft, then the
# same budget keeping two snapshots (most states rebuilt from the root),
# then on two workers: branches per minute (and per core), the restore
# share of a branch, the bytes one cluster snapshot holds, what eviction
# costs, and the two workers' speed as a ratio to one's (the same
# campaign: its corpus must come out the same).  CHAOSCONTROL names the
# binary.
set -euo pipefail
budget=${1:-64}
cc=${CHAOSCONTROL:-build/chaoscontrol}
work=${EXPLORE_BENCH_WORK:-build/bench/explore}
cores=$(nproc)
mkdir -p "$work"
for run in 64:1 2:1 64:2; do
	snaps=${run%:*} workers=${run#*:}
	out=$work/snapshots-$snaps-workers-$workers
	rm -rf "$out"
	"$cc" explore examples/raft/raft.json --seed 1 --branches "$budget" \
		--snapshots "$snaps" --workers "$workers" --out "$out" --json \
		>"$out.json" 2>"$out.log"
	jq -r --arg snaps "$snaps" --arg workers "$workers" --arg cores "$cores" '
		.timing as $t |
		"snapshots \($snaps), workers \($workers): \(.branches) branches in \($t.elapsed_s | . * 10 | round / 10) s: " +
		"\($t.branches_per_min | . * 10 | round / 10) branches/min " +
		"(\($t.branches_per_min / ($cores | tonumber) | . * 10 | round / 10) per core), " +
		"restore share \($t.restore_share | . * 1000 | round / 10) %, " +
		"\($t.restores) restores, \($t.rebuilds) rebuilt from an ancestor, " +
		"last snapshot \($t.snapshot_bytes / 1048576 | . * 10 | round / 10) MiB, " +
		"corpus \(.corpus), edges \(.edges)"' "$out.json"
done
one=$work/snapshots-64-workers-1.json two=$work/snapshots-64-workers-2.json
jq -rn --slurpfile a "$one" --slurpfile b "$two" '
	"two workers against one: \($b[0].timing.branches_per_min / $a[0].timing.branches_per_min | . * 100 | round / 100)x the branches per minute; " +
	"the same corpus: \(($a[0] | del(.timing)) == ($b[0] | del(.timing)))"'
