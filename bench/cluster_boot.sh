#!/usr/bin/env bash
# make bench: what bringing a cluster to its ready point costs cold (no
# boot cache), against the cold boot of one VM measured in this run.
#
#   bench/cluster_boot.sh CHAOSCONTROL
#
# Nodes of one configuration share one boot (docs/FAULTS.md, "Boot"), and
# images arrive after the ready point on the image disk (docs/IMAGES.md),
# so 3 and 5 nodes, a VM of the 16.7 MiB Redis image, and a cluster of
# two images (examples/redis: Debian's redis-server, and the client on
# the default initramfs) should each cost about one boot of one VM.
set -euo pipefail
cc=$1
here=$(cd "$(dirname "$0")/.." && pwd)

now() { printf '%s\n' "${EPOCHREALTIME/./}"; } # microseconds

cold() { # run arguments -> wall seconds of `run ... --no-cache --ticks 1`
	local t0 t1
	t0=$(now)
	# Exit 1 only says properties were not reached in one tick.
	local rc=0
	"$cc" run "$@" --no-cache --ticks 1 --quiet >/dev/null 2>&1 || rc=$?
	if ((rc > 1)); then
		echo "bench: cluster_boot: run $* failed (exit $rc)" >&2
		exit 1
	fi
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

spec=$(mktemp /tmp/cc-bench-redis.XXXXXX.json)
trap 'rm -f "$spec"' EXIT
cat >"$spec" <<JSON
{"version": 1, "nodes": [
  {"program": "/usr/bin/redis-server", "args": ["/etc/redis/node.conf"],
   "image": "$here/examples/redis/image.json"},
  {"program": "/usr/bin/redis-server", "args": ["/etc/redis/node.conf"],
   "image": "$here/examples/redis/image.json"},
  {"program": "/bin/redisclient", "args": ["node0", "1", "1", "0"]}]}
JSON
one_redis_spec=$(mktemp /tmp/cc-bench-redis1.XXXXXX.json)
trap 'rm -f "$spec" "$one_redis_spec"' EXIT
cat >"$one_redis_spec" <<JSON
{"version": 1, "nodes": [
  {"program": "/usr/bin/redis-server", "args": ["/etc/redis/node.conf"],
   "image": "$here/examples/redis/image.json"}]}
JSON
one=$(cold --vms 1)
one_redis=$(cold "$one_redis_spec")
three=$(cold --vms 3)
five=$(cold --vms 5)
two_images=$(cold "$spec")
echo "cluster boot, cold (--no-cache), wall seconds to the ready point:"
printf '  1 VM          %6s s (baseline)\n' "$one"
printf '  3 VMs         %6s s: %sx one VM\n' "$three" "$(ratio "$three" "$one")"
printf '  5 VMs         %6s s: %sx one VM\n' "$five" "$(ratio "$five" "$one")"
printf '  1 VM, redis image     %6s s: %sx one VM\n' "$one_redis" \
	"$(ratio "$one_redis" "$one")"
printf '  redis x2 + client (2 images) %6s s: %sx one VM\n' \
	"$two_images" "$(ratio "$two_images" "$one")"
