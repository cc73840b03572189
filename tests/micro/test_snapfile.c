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

#define CC CC_BUILD_DIR "/chaoscontrol"
#define WORKER                                                                 \
	"--kernel " CC_BUILD_DIR "/guest/micro/snap_worker.elf "               \
	"--no-initrd --mem 32M --seed 5"

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

static void corrupt_and_expect(const char *how, const char *message)
{
	cr_assert_eq(sh(CC " run " WORKER " --ticks 20 --snapshot-at 10 "
			   "--save %s/s.snap >/dev/null 2>&1",
			dir),
		     0);
	cr_assert_eq(sh(how, dir, dir), 0, "%s", out);
	int rc = sh(CC " run --restore %s/s.snap --kernel " CC_BUILD_DIR
		       "/guest/micro/snap_worker.elf --no-initrd --ticks 20 "
		       "2>&1",
		    dir);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, message), "expected '%s' in:\n%s", message, out);
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

Test(snapfile, save_needs_snapshot_at)
{
	cr_assert_eq(sh(CC " run " WORKER " --save %s/x 2>&1", dir), 2, "%s",
		     out);
	cr_assert(strstr(out, "--snapshot-at and --save go together"), "%s",
		  out);
}
