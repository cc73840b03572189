#!/usr/bin/env bash
# Packs host-built programs and every shared object they load into a newc
# archive laid over the default initramfs:
#
#   tests/linux/mkhostimage.sh OUT BASE.cpio PROGRAM...
#
# Each PROGRAM goes to /bin/NAME; its ELF interpreter and libraries (as
# ldd resolves them on this host) go to the same paths inside.  The
# kernel unpacks concatenated archives in order, so OUT is BASE followed
# by the new archive.  Byte-for-byte reproducible (sorted names, zero
# times, root owner), so every run shares one boot cache entry.  A test
# helper until `chaoscontrol image build` exists.
set -euo pipefail
die() { printf 'mkhostimage.sh: %s\n' "$*" >&2; exit 1; }
(($# >= 3)) || die "usage: mkhostimage.sh OUT BASE.cpio PROGRAM..."
out=$1 base=$2
shift 2
[[ -f $base ]] || die "no base archive $base"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
for prog in "$@"; do
	[[ -x $prog ]] || die "not an executable: $prog"
	cp -- "$prog" "$stage/bin/"
	# "name => /path (addr)", "/path (addr)" (the interpreter); skip
	# the vDSO and "not a dynamic executable".
	while read -r lib; do
		[[ -f $lib ]] || die "$prog needs $lib, which does not exist"
		mkdir -p "$stage$(dirname -- "$lib")"
		cp -L -- "$lib" "$stage$lib"
	done < <(ldd "$prog" 2>/dev/null | sed -nE 's#^\s*(\S+ => )?(/\S+) \(0x[0-9a-f]+\)$#\2#p')
done
find "$stage" -exec touch -h -d @0 {} +
tmp=$out.tmp.$$
cp -- "$base" "$tmp"
# Each archive must start 4-byte aligned.
pad=$(( (4 - $(stat -c %s -- "$tmp") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$tmp"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible >>"$tmp")
mv -f -- "$tmp" "$out"
