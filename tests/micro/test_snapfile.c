/*
 * Snapshot files: a snapshot saved to disk restores into a fresh process
 * and reproduces the uninterrupted run's trace hash; every kind of bad
 * file is refused with a message saying what is wrong.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/snapfile.h"
#include "vmm/vm.h"
#include <xxhash.h>
#include <zstd.h>

#define CC CC_BUILD_DIR "/chaoscontrol"
#define WORKER                                                                 \
	"--kernel " CC_BUILD_DIR "/guest/micro/snap_worker.elf "               \
	"--no-initrd --mem 32M --seed 5"
#define DISK_MB 1

static char out[1 << 16];
static char dir[] = "/tmp/cc-snapfile-XXXXXX";

/* The shared runner, writing into this file's `out`. */
#define sh(...) cc_test_sh(out, sizeof(out), __VA_ARGS__)

static void setup(void)
{
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	cr_assert_eq(sh("rm -rf %s", dir), 0);
}

TestSuite(snapfile, .init = setup, .fini = teardown);

/* The last line of out (the trace-hash line). */
static const char *last_line(void)
{
	size_t n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	char *p = strrchr(out, '\n');
	return p ? p + 1 : out;
}

Test(snapfile, save_then_restore_in_a_new_process_matches)
{
	char want[64], got[64];
	cr_assert_eq(sh(CC " run " WORKER " --ticks 120 2>/dev/null"), 0, "%s",
		     out);
	snprintf(want, sizeof(want), "%.63s", last_line());
	cr_assert_eq(sh(CC " run " WORKER " --ticks 120 --snapshot-at 40 "
			   "--save %s/s.snap 2>/dev/null",
			dir),
		     0, "%s", out);
	cr_assert_str_eq(last_line(), want, "snapshotting changed the run");
	cr_assert_eq(sh(CC " run --restore %s/s.snap --kernel " CC_BUILD_DIR
			   "/guest/micro/snap_worker.elf --no-initrd "
			   "--ticks 120 2>/dev/null",
			dir),
		     0, "%s", out);
	snprintf(got, sizeof(got), "%.63s", last_line());
	cr_assert_str_eq(got, want, "the restored run diverged");
	/* The console before the snapshot was saved with it. */
	cr_assert(strstr(out, "tick 10 sum"), "%s", out);
}

/* A snapshot of the worker at tick 10, in dir/s.snap. */
static void save_small(void)
{
	cr_assert_eq(sh(CC " run " WORKER " --ticks 20 --snapshot-at 10 "
			   "--save %s/s.snap >/dev/null 2>&1",
			dir),
		     0);
}

/* Restoring dir/s.snap (with `extra` options) fails with `message`. */
static void expect_refused(const char *extra, const char *message)
{
	int rc = sh(CC " run --restore %s/s.snap %s --kernel " CC_BUILD_DIR
		       "/guest/micro/snap_worker.elf --no-initrd --ticks 20 "
		       "2>&1",
		    dir, extra);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, message), "expected '%s' in:\n%s", message, out);
}

static void corrupt_and_expect(const char *how, const char *message)
{
	save_small();
	cr_assert_eq(sh(how, dir, dir), 0, "%s", out);
	expect_refused("", message);
}

Test(snapfile, truncated_file_is_refused)
{
	corrupt_and_expect("truncate -s -1000 %s/s.snap", "truncated snapshot");
}

Test(snapfile, flipped_byte_is_refused)
{
	corrupt_and_expect("printf '\\377' | dd of=%s/s.snap bs=1 seek=5000 "
			   "conv=notrunc status=none",
			   "payload checksum mismatch");
}

Test(snapfile, corrupt_header_is_refused)
{
	corrupt_and_expect("printf '\\007' | dd of=%s/s.snap bs=1 seek=20 "
			   "conv=notrunc status=none",
			   "corrupt snapshot header");
}

Test(snapfile, other_version_is_refused)
{
	corrupt_and_expect("printf '\\011' | dd of=%s/s.snap bs=1 seek=8 "
			   "conv=notrunc status=none",
			   "snapshot format version 9; this build reads "
			   "version 3");
}

Test(snapfile, not_a_snapshot_is_refused)
{
	corrupt_and_expect("echo hello > %s/s.snap", "not a ChaosControl "
						     "snapshot file");
}

Test(snapfile, missing_file_is_refused)
{
	corrupt_and_expect("rm %s/s.snap", "No such file or directory");
}

/* A run that ends before --snapshot-at writes nothing, and says so. */
Test(snapfile, a_run_that_ends_before_snapshot_at_is_an_error)
{
	int rc = sh(CC " run " WORKER " --ticks 20 --snapshot-at 40 "
		       "--save %s/late.snap 2>&1",
		    dir);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, "no snapshot written to"), "%s", out);
	cr_assert(strstr(out, "before --snapshot-at 40"), "%s", out);
	cr_assert_neq(sh("test -e %s/late.snap", dir), 0, "a file appeared");
}

Test(snapfile, save_needs_snapshot_at)
{
	cr_assert_eq(sh(CC " run " WORKER " --save %s/x 2>&1", dir), 2, "%s",
		     out);
	cr_assert(strstr(out, "--snapshot-at and --save go together"), "%s",
		  out);
}

/* ---- files that pass every checksum but lie ------------------------- */

/* The whole file at path, its header and where its parts begin. */
struct snap {
	uint8_t *buf;
	size_t len;
	struct cc_snapfile_header h;
};

static void snap_read(struct snap *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	cr_assert(fp, "%s", path);
	fseek(fp, 0, SEEK_END);
	f->len = (size_t)ftell(fp);
	rewind(fp);
	f->buf = malloc(f->len);
	cr_assert(f->buf && fread(f->buf, 1, f->len, fp) == f->len);
	fclose(fp);
	memcpy(&f->h, f->buf, sizeof(f->h));
}

/* Writes f back with both checksums made right again, as a forger
 * would: only the loader's own checks stand between it and the VMM. */
static void snap_write(struct snap *f, const char *path)
{
	f->h.payload_hash =
		XXH3_64bits(f->buf + sizeof(f->h), f->len - sizeof(f->h));
	f->h.header_hash = 0;
	f->h.header_hash = XXH3_64bits(&f->h, sizeof(f->h));
	memcpy(f->buf, &f->h, sizeof(f->h));
	FILE *fp = fopen(path, "wb");
	cr_assert(fp && fwrite(f->buf, 1, f->len, fp) == f->len);
	fclose(fp);
	free(f->buf);
}

/* Where device row `row`'s section starts in the file (from the
 * header's layout, "name.version:len,..."; each section is a 24-byte
 * header, then the state padded to 8). */
static size_t section_offset(const struct snap *f, const char *row)
{
	size_t at = sizeof(f->h) + f->h.vcpu_size + f->h.trace_size;
	const char *p = f->h.layout;
	size_t n = strlen(row);
	while (*p) {
		const char *dot = strchr(p, '.'), *colon = strchr(p, ':');
		cr_assert(dot && colon && dot < colon, "bad layout %s",
			  f->h.layout);
		if ((size_t)(dot - p) == n && !strncmp(p, row, n))
			return at;
		at += 24 + ((strtoull(colon + 1, (char **)&p, 10) + 7) & ~7ull);
		if (*p == ',')
			p++;
	}
	cr_assert_fail("no row %s in %s", row, f->h.layout);
	return 0;
}

/* Where row `row`'s state starts: past its section header. */
static size_t row_offset(const struct snap *f, const char *row)
{
	return section_offset(f, row) + 24;
}

/* Saves a snapshot, sets byte `field` of device row `row` to v, and
 * expects the restore to refuse it with `message`. */
static void forge_and_expect(const char *row, size_t field, uint8_t v,
			     const char *message)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/s.snap", dir);
	save_small();
	struct snap f;
	snap_read(&f, path);
	f.buf[row_offset(&f, row) + field] = v;
	snap_write(&f, path);
	expect_refused("", message);
}

/* An RTC register index past its 128 CMOS bytes: one `outb 0x71` of
 * the guest would then write past them, into the next device. */
Test(snapfile, rtc_index_out_of_range_is_refused)
{
	forge_and_expect("rtc", offsetof(struct cc_rtc, index), 200,
			 "invalid device state: rtc: RTC register index out "
			 "of range");
}

/* A queue size past the device's maximum, and a ready flag that is
 * neither 0 nor 1, each named with its device. */
Test(snapfile, virtqueue_state_out_of_range_is_refused)
{
	forge_and_expect(
		"virtio-net",
		offsetof(struct cc_virtio_mmio_state, q) + 1 /* num hi */, 4,
		"invalid device state: virtio-net: virtqueue size "
		"out of range");
	forge_and_expect("virtio-rng",
			 offsetof(struct cc_virtio_mmio_state, q) +
				 offsetof(struct cc_virtq, ready),
			 2,
			 "invalid device state: virtio-rng: virtqueue ready "
			 "flag out of range");
}

/* A bool byte that is neither 0 nor 1 (undefined once read). */
Test(snapfile, device_flag_out_of_range_is_refused)
{
	forge_and_expect("pic",
			 offsetof(struct cc_pic, chip[1]) +
				 offsetof(struct cc_pic_chip, poll),
			 7, "invalid device state: pic: PIC flag");
	forge_and_expect("pit", offsetof(struct cc_pit_state, ch[2].mode), 6,
			 "invalid device state: pit: PIT channel state");
}

/* A section written by another layout of its device: named with both
 * versions, never read as this build's struct. */
Test(snapfile, device_state_of_another_version_is_refused)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/s.snap", dir);
	save_small();
	struct snap f;
	snap_read(&f, path);
	uint16_t v = CC_PIT_STATE_VERSION + 1;
	memcpy(f.buf + section_offset(&f, "pit") + 12, &v, 2);
	snap_write(&f, path);
	char want[128];
	snprintf(want, sizeof(want),
		 "invalid device state: pit: state version %u, this build "
		 "reads %u",
		 v, CC_PIT_STATE_VERSION);
	expect_refused("", want);
}

/* A 2 MiB-class file that claims a disk overlay of 64K pages (256 MiB
 * of zeros compress to a few KiB) for a 1 MiB disk: refused from its
 * header, before the overlay is allocated or decompressed. */
Test(snapfile, disk_overlay_larger_than_the_disk_is_refused_unread)
{
	char path[64], disk[64];
	snprintf(path, sizeof(path), "%s/s.snap", dir);
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	cr_assert_eq(sh("truncate -s %dM %s", DISK_MB, disk), 0);
	cr_assert_eq(sh(CC " run " WORKER " --disk %s --ticks 20 "
			   "--snapshot-at 10 --save %s >/dev/null 2>&1",
			disk, path),
		     0, "%s", out);
	struct snap f;
	snap_read(&f, path);
	cr_assert_eq(f.h.has_disk, 1);
	/* The overlay sits after the RAM; an empty one is a tiny frame. */
	size_t at = f.len - f.h.unflushed_zsize - f.h.disk_zsize;
	uint64_t pages = 1 << 16, raw = pages * (8 + 4096);
	uint8_t *zeros = calloc(1, raw);
	size_t cap = ZSTD_compressBound(raw);
	uint8_t *z = malloc(cap);
	size_t zlen = ZSTD_compress(z, cap, zeros, raw, 1);
	cr_assert(!ZSTD_isError(zlen));
	free(zeros);
	size_t tail = f.h.unflushed_zsize;
	uint8_t *nb = malloc(at + zlen + tail);
	memcpy(nb, f.buf, at);
	memcpy(nb + at, z, zlen);
	memcpy(nb + at + zlen, f.buf + at + f.h.disk_zsize, tail);
	free(z);
	free(f.buf);
	f.buf = nb;
	f.len = at + zlen + tail;
	f.h.disk_pages = pages;
	f.h.disk_zsize = zlen;
	snap_write(&f, path);
	char extra[96];
	snprintf(extra, sizeof(extra), "--disk %s", disk);
	expect_refused(extra,
		       "a disk overlay of 65536 pages for a disk of 256");
}
