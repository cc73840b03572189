#!/usr/bin/env bash
# Installs the Debian packages in mk/packages.txt that are missing.
# Idempotent and quiet when everything is present; `make` runs it first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t want < <(grep -v '^\s*#' "$here/packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Some packages (redis-server) are here for their binaries, which guest
# images pack: keep apt from starting their services on this host.
rc=/usr/sbin/policy-rc.d
if [ ! -e "$rc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$rc" >/dev/null
	$sudo chmod +x "$rc"
	trap '$sudo rm -f "$rc"' EXIT
fi
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
