/*
 * Linux tier: the real guest kernel boots to the PID-1 init, runs the
 * default program and powers off cleanly - from the ELF vmlinux and from
 * the same kernel's bzImage.  Slow on PVM hosts (minutes), so each test
 * boots once and checks everything it can from that one boot.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define CC    CC_BUILD_DIR "/chaoscontrol"
#define GUEST CC_BUILD_DIR "/guest/"

static char out[1 << 20];

static int boot(const char *args)
{
	return cc_test_sh(out, sizeof(out),
			  CC " boot --no-cache --stats %s 2>&1", args);
}

static void assert_has(const char *s)
{
	cr_assert(strstr(out, s), "expected '%s' in the output:\n%s", s, out);
}

static void assert_clean_boot(void)
{
	assert_has("hello from ChaosControl: Linux 6.1");
	/* The guest's tty turns "\n" into "\r\n" (ONLCR). */
	assert_has("cc-init: exit status 0\r\n");
	assert_has("guest stopped (poweroff)");
	assert_has("watchdog fires (non-deterministic): 0\n");
	cr_assert_null(strstr(out, "Kernel panic"), "%s", out);
}

Test(linux, vmlinux_boots_to_init_and_runs_the_program, .timeout = 1800)
{
	int rc = boot("--kernel " GUEST "vmlinux --cmdline '-- alpha beta'");
	cr_assert_eq(rc, 0, "%s", out);
	assert_clean_boot();
	/* Orders from the command line reach the program. */
	assert_has("arg 1: alpha\r\narg 2: beta\r\n");
	/* System calls work, so the PVM route (or hardware) is in place. */
	assert_has(", pid ");
}

Test(linux, bzimage_boots_the_same_guest, .timeout = 1800)
{
	int rc = boot("--kernel " GUEST "bzImage");
	cr_assert_eq(rc, 0, "%s", out);
	assert_clean_boot();
}
