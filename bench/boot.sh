#!/usr/bin/env bash
# make bench: boot figures for the default guest, measured in this run.
#
#   bench/boot.sh CHAOSCONTROL BUILD_DIR
#
# Prints, for the ELF vmlinux and for the same kernel's bzImage: wall
# time from process start to the init's first output, total wall time,
# VM exits by reason and the PVM fix-ups that fired.  Baselines measured
# in the same run: a raw port-I/O exit round trip (doctor's probe) and a
# micro-guest boot; the vmlinux/bzImage ratio says which loads faster.
set -euo pipefail
cc=$1
build=$2
guest=$build/guest

now() { printf '%s\n' "${EPOCHREALTIME/./}"; } # microseconds

# Runs a boot; prints "first_output_s total_s" and saves --stats to $2;
# further arguments go to `chaoscontrol boot`.
timed_boot() {
	local kernel=$1 stats=$2 t0 first="" line
	shift 2
	t0=$(now)
	while IFS= read -r line; do
		if [[ -z $first && $line == "hello from ChaosControl"* ]]; then
			first=$(now)
		fi
	done < <("$cc" boot --kernel "$kernel" --stats "$@" 2>"$stats")
	local t1
	t1=$(now)
	[[ -n $first ]] || {
		echo "bench: the guest never printed its greeting; see $stats" >&2
		exit 1
	}
	awk -v a="$t0" -v f="$first" -v b="$t1" \
		'BEGIN { printf "%.2f %.2f\n", (f - a) / 1e6, (b - a) / 1e6 }'
}

echo "== host"
"$cc" doctor | grep -E '^(platform|cpl0 loop|exit round trip)'

echo "== micro-guest boot (baseline: runtime set-up, CPL3 switch, exit)"
t0=$(now)
"$cc" boot --kernel "$guest/micro/hello.elf" --no-initrd --quiet &>/dev/null
t1=$(now)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "micro-guest hello: %.3f s wall\n", (b - a) / 1e6 }'

declare -A first total
for k in vmlinux bzImage; do
	echo "== Linux boot, $k (default guest: init + /bin/hello)"
	stats=$(mktemp)
	read -r f t < <(timed_boot "$guest/$k" "$stats" --no-cache)
	first[$k]=$f
	total[$k]=$t
	echo "process start -> init's first output: $f s"
	echo "process start -> power-off:           $t s"
	grep -E '^(exits|  [a-z_]+ +[0-9]+$|irqs|serial|pvm fix-up|watchdog)' "$stats"
	rm -f "$stats"
done
awk -v v="${first[vmlinux]}" -v b="${first[bzImage]}" \
	'BEGIN { printf "== bzImage / vmlinux time to first output: %.2fx\n", b / v }'

echo "== boot cache: the same guest, first run (boots, saves) and second run"
cache=$(mktemp -d)
stats=$(mktemp)
read -r cold _ < <(XDG_CACHE_HOME=$cache timed_boot "$guest/vmlinux" "$stats")
grep -q "boot cache saved" "$stats" || { echo "bench: no boot cache entry was saved" >&2; exit 1; }
read -r warm _ < <(XDG_CACHE_HOME=$cache timed_boot "$guest/vmlinux" "$stats")
grep -q "started from the boot cache" "$stats" || { echo "bench: the second run did not use the cache" >&2; exit 1; }
rm -rf "$cache" "$stats"
echo "first run (cold boot, saves the cache): $cold s to first output"
echo "second run (from the boot cache):       $warm s to first output"
awk -v c="$cold" -v w="$warm" 'BEGIN { printf "== cold / cached: %.1fx\n", c / w }'
