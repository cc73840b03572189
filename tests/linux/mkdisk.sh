#!/usr/bin/env bash
# Makes the ext4 test image: tests/linux/mkdisk.sh OUT [SIZE]
#
# Byte-for-byte reproducible (fixed UUID, hash seed and every inode
# time), so the boot cache - keyed by the disk image's bytes - is made
# once and shared by every Linux test that attaches it.
set -euo pipefail
out=$1
size=${2:-8M}
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
echo "hello from the host, made by mke2fs -d" >"$src/seed.txt"
touch -d @1700000000 "$src/seed.txt" "$src"
tmp=$out.tmp.$$
rm -f "$tmp"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -d "$src" \
    -U 6c6c6c6c-0000-4000-8000-000000000001 \
    -E root_owner=0:0,hash_seed=6c6c6c6c-0000-4000-8000-000000000002 \
    "$tmp" "$size" 2>&1 | grep -v '^Creating regular file' || true
# mke2fs stamps creation and change times from the host clock: pin them.
for ino in 2 11 12; do
    for f in atime ctime mtime crtime; do
        debugfs -w -R "sif <$ino> $f 20231114221320" "$tmp" >/dev/null 2>&1
        debugfs -w -R "sif <$ino> ${f}_extra 0" "$tmp" >/dev/null 2>&1
    done
done
mv "$tmp" "$out"
