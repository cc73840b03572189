#!/usr/bin/env bash
# make bench: virtual ticks per wall second of a 3-VM kvstore cluster
# (the leader writes every 5 ms, so the network and the guests' stacks
# are busy): sequential, one thread per core, one thread per VM, all
# measured in this run.
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
read -r seq hseq < <(run 1)
read -r core hcore < <(run "$(nproc)")
read -r per hper < <(run 3)
printf 'cluster (3 VMs, kvstore, %s ticks): sequential %.1f ticks/s\n' \
	"$ticks" "$seq"
printf '  %s threads (one per core, the default) %.1f ticks/s: %sx sequential\n' \
	"$(nproc)" "$core" "$(ratio "$core" "$seq")"
printf '  3 threads (one per VM) %.1f ticks/s: %sx sequential\n' \
	"$per" "$(ratio "$per" "$seq")"
if [[ $hseq != "$hcore" || $hseq != "$hper" ]]; then
	echo "bench: threaded runs differ from sequential" \
		"($hcore, $hper vs $hseq)" >&2
	exit 1
fi
echo "cluster: all three runs ended with trace-hash $hseq"
