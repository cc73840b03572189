#!/usr/bin/env bash
# make bench: virtual ticks per wall second of a 3-VM kvstore cluster
# (the leader writes every 5 ms, so the network and the guests' stacks
# are busy), sequential vs worker threads, measured in this run.
#
#   bench/cluster.sh CHAOSCONTROL [TICKS]
#
# Both runs must end with the same cluster trace hash: threads change
# the speed, never the execution.
set -euo pipefail
cc=$1
ticks=${2:-1500}

run() { # threads -> "ticks_per_s trace_hash"
	"$cc" run --vms 3 --seed 1 --ticks "$ticks" --threads "$1" --quiet \
		-- /bin/kvstore 3 5 2>/dev/null |
		awk '/^cluster: / { for (i = 1; i <= NF; i++)
				if ($i == "wall") wall = $(i - 2); t = $4 }
		     /^trace-hash: / { h = $2 }
		     END { printf "%.2f %s\n", t / wall, h }'
}

# A short warm-up so every boot cache entry exists before timing.
"$cc" run --vms 3 --ticks 10 --quiet -- /bin/kvstore 3 5 >/dev/null 2>&1 || true
read -r seq hseq < <(run 1)
read -r thr hthr < <(run "$(nproc)")
printf 'cluster (3 VMs, kvstore, %s ticks): sequential %.1f ticks/s, ' \
	"$ticks" "$seq"
printf '%s threads %.1f ticks/s: %.2fx\n' "$(nproc)" "$thr" \
	"$(awk -v a="$thr" -v b="$seq" 'BEGIN { print a / b }')"
if [[ $hseq != "$hthr" ]]; then
	echo "bench: threaded run differs from sequential ($hthr vs $hseq)" >&2
	exit 1
fi
echo "cluster: both runs ended with trace-hash $hseq"
