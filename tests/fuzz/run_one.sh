#!/usr/bin/env bash
# One libFuzzer target for a bounded time (make fuzz runs several at
# once): tests/fuzz/run_one.sh TARGET SECONDS BUILD_DIR.  Its seeds
# (tests/fuzz/seeds/NAME/) and dictionary (tests/fuzz/NAME.dict) when
# there are; the corpus and any crash artifact stay under BUILD_DIR/fuzz.
set -uo pipefail
t=$1 secs=$2 b=$3
n=$(basename "$t")
mkdir -p "$b/fuzz/corpus-$n"
args=(-max_total_time="$secs" -print_final_stats=1
	-artifact_prefix="$b/fuzz/$n-")
[[ -f tests/fuzz/$n.dict ]] && args+=(-dict="tests/fuzz/$n.dict")
dirs=("$b/fuzz/corpus-$n")
[[ -d tests/fuzz/seeds/$n ]] && dirs+=("tests/fuzz/seeds/$n")
if ! "$t" "${args[@]}" "${dirs[@]}" >"$b/fuzz/$n.log" 2>&1; then
	echo "== fuzz $n: FAILED"
	tail -n 40 "$b/fuzz/$n.log"
	exit 255 # xargs stops at once
fi
stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
	"$b/fuzz/$n.log" | tr '\n' ' ')
echo "== fuzz $n for $secs s: $stats"
