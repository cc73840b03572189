#!/usr/bin/env bash
# Runs one command where there is KVM (`make run`):
#
#   tests/hw/exec.sh BUILD_DIR COMMAND [ARGS...]
#
# On a host whose /dev/kvm opens, the command just runs.  On one without
# (tests/kvm.sh), it runs on hardware KVM inside QEMU (tests/hw/run.sh),
# in the repository's top directory, and its output is printed when it
# is done; its exit status is this script's either way.
set -euo pipefail
(($# >= 2)) || { echo "usage: tests/hw/exec.sh BUILD_DIR COMMAND..." >&2; exit 2; }
b=$(cd "$1" && pwd)
shift
if [[ -r /dev/kvm && -w /dev/kvm ]] && exec 3<>/dev/kvm; then
	exec 3>&-
	exec "$@"
fi
echo "exec: no usable /dev/kvm on this host: running on hardware KVM" \
	"inside QEMU (tests/hw/run.sh); the output follows when it ends" >&2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$b/hw"
script=$b/hw/exec-$$.sh
{
	echo "cd $(printf '%q' "$repo")"
	printf '%q ' "$@"
	echo
} >"$script"
bash "$here/run.sh" "$b" "$script" >&2 || true
log=$b/hw/results/${script##*/}.log
rc_file=$b/hw/results/${script##*/}.rc
rm -f "$script"
if [[ ! -f $rc_file ]]; then
	echo "exec: the outer VM did not report (console in $b/hw/console.log)" >&2
	exit 3
fi
cat "$log"
exit "$(cat "$rc_file")"
