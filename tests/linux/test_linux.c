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

/* The orders init reads after the ready point carry the program's
 * environment (added to init's own) and working directory
 * (protocol.h): Debian's printenv and pwd, from the host-programs
 * image, show them; a directory that does not exist is init's error. */
/* The boot cache entry a run's output names ("...boot/HASH.snap"). */
static void cache_entry(const char *o, char *e, size_t cap)
{
	const char *b = strstr(o, "/boot/"), *end = b ? strstr(b, ".snap") : 0;
	cr_assert(end && (size_t)(end - b) < cap, "no boot cache in %s", o);
	snprintf(e, cap, "%.*s", (int)(end - b), b);
}

Test(linux, init_gives_the_program_its_environment_and_directory,
     .timeout = 1800)
{
	cc_test_make_host_image();
#define RUN_IMG CC " run --quiet --image " CC_TEST_HOST_IMAGE
	const char *con = CC_BUILD_DIR "/tests/orders.console";
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN_IMG " --serial-out %s --env GREETING=hello "
					"--env HOME=/srv --cwd /srv/app -- "
					"/bin/printenv 2>&1 && cat %s",
				con, con),
		     0, "%s", out);
	assert_has("GREETING=hello\r\n");
	assert_has("HOME=/srv\r\n");
	/* The image came after the ready point: this run's boot is the
	 * default guest's (the same boot cache entry as the run without
	 * an image below). */
	char with_image[256];
	cache_entry(out, with_image, sizeof(with_image));
	assert_has("TERM=linux\r\n"); /* init's own, kept */
	cr_assert_null(strstr(out, "HOME=/\r\n"), "overridden: %s", out);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN_IMG " --serial-out %s --cwd /srv/app -- "
					"/bin/pwd 2>&1 && cat %s",
				con, con),
		     0, "%s", out);
	assert_has("\n/srv/app\r\n");
	/* An empty argument reaches the program (escaped in the orders). */
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN_IMG " --serial-out %s -- /bin/echo '<' '' "
					"'>' 2>&1 && cat %s",
				con, con),
		     0, "%s", out);
	assert_has("\n<  >\r\n");
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN_IMG " --serial-out %s --cwd /nowhere -- "
					"/bin/pwd 2>&1; cat %s",
				con, con),
		     0, "%s", out);
	assert_has("cc-init: cannot enter /nowhere (errno 2)");
	assert_has("cc-init: exit status 127");
	/* A VM on its own is node0 with eth0 down (no network identity). */
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				CC " run -- /bin/nodeinfo node0 2>&1"),
		     0, "%s", out);
	assert_has("nodeinfo: host node0\r\n");
	char without[256];
	cache_entry(out, without, sizeof(without));
	cr_assert_str_eq(with_image, without);
	assert_has("nodeinfo: eth0 down none");
	assert_has("nodeinfo: resolve node0 127.0.1.1\r\n");
	assert_has("nodeinfo: /tmp tmpfs, /dev/shm tmpfs, /data missing\r\n");
	cr_assert_neq(cc_test_sh(out, sizeof(out),
				 CC " run --env NOEQUALS -- /bin/hello 2>&1"),
		      0);
	assert_has("invalid --env (want NAME=VALUE");
#undef RUN_IMG
}
