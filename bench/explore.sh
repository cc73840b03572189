#!/usr/bin/env bash
# The explorer's speed on the 3-VM Raft cluster (docs/EXPLORE.md):
#
#   bench/explore.sh [BRANCHES]     (make bench: 64)
#
# One guided campaign of 500-tick branches on the correct Raft, then the
# same budget keeping two snapshots (most states rebuilt from the root):
# branches per minute (and per core), the restore share of a branch, the
# bytes one cluster snapshot holds, and what eviction costs.  CHAOSCONTROL
# names the binary.
set -euo pipefail
budget=${1:-64}
cc=${CHAOSCONTROL:-build/chaoscontrol}
work=${EXPLORE_BENCH_WORK:-build/bench/explore}
cores=$(nproc)
mkdir -p "$work"
for snaps in 64 2; do
	out=$work/snapshots-$snaps
	rm -rf "$out"
	"$cc" explore examples/raft/raft.json --seed 1 --branches "$budget" \
		--snapshots "$snaps" --out "$out" --json >"$out.json" 2>"$out.log"
	jq -r --arg snaps "$snaps" --arg cores "$cores" '
		.timing as $t |
		"snapshots \($snaps): \(.branches) branches in \($t.elapsed_s | . * 10 | round / 10) s: " +
		"\($t.branches_per_min | . * 10 | round / 10) branches/min " +
		"(\($t.branches_per_min / ($cores | tonumber) | . * 10 | round / 10) per core), " +
		"restore share \($t.restore_share | . * 1000 | round / 10) %, " +
		"\($t.restores) restores, \($t.rebuilds) rebuilt from the root, " +
		"last snapshot \($t.snapshot_bytes / 1048576 | . * 10 | round / 10) MiB, " +
		"corpus \(.corpus), edges \(.edges)"' "$out.json"
done
