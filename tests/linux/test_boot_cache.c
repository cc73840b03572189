/*
 * The boot cache on the real guest: the first run saves a snapshot at
 * init's ready point, later runs start from it - and every path (no
 * cache, cold, warm, rebuilt after corruption) gives the same execution.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define CC CC_BUILD_DIR "/chaoscontrol"

static char out[1 << 20];
static char dir[] = "/tmp/cc-bootcache-XXXXXX";

/* The shared runner, writing into this file's `out`. */
#define sh(...) cc_test_sh(out, sizeof(out), __VA_ARGS__)

static void hash_of(char *h, size_t len)
{
	const char *p = strstr(out, "trace-hash: ");
	cr_assert(p, "no trace-hash line in:\n%s", out);
	snprintf(h, len, "%.28s", p);
}

/* One run with a private cache directory; output in `out`. */
static void run(const char *extra)
{
	int rc =
		sh("XDG_CACHE_HOME=%s " CC " run --seed 3 %s 2>&1", dir, extra);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "cc-init: exit status 0"), "%s", out);
}

Test(boot_cache, every_path_gives_the_same_execution, .timeout = 3600)
{
	char h0[32], h[32];
	cr_assert(mkdtemp(dir));
	run("--no-cache");
	hash_of(h0, sizeof(h0));
	cr_assert_null(strstr(out, "boot cache"), "%s", out);

	run(""); /* cold: boots and saves */
	cr_assert(strstr(out, "boot cache saved at"), "%s", out);
	hash_of(h, sizeof(h));
	cr_assert_str_eq(h, h0, "saving the cache changed the run");

	run(""); /* warm: restores */
	cr_assert(strstr(out, "started from the boot cache"), "%s", out);
	cr_assert(strstr(out, "hello from ChaosControl"), "%s", out);
	hash_of(h, sizeof(h));
	cr_assert_str_eq(h, h0, "the cached run diverged");

	/* A damaged entry is reported, rebuilt, and the run is unchanged. */
	cr_assert_eq(sh("truncate -s 1000 %s/chaoscontrol/boot/*.snap", dir),
		     0);
	run("");
	cr_assert(strstr(out, "booting afresh and rebuilding it"), "%s", out);
	cr_assert(strstr(out, "boot cache saved at"), "%s", out);
	hash_of(h, sizeof(h));
	cr_assert_str_eq(h, h0);
	run("");
	cr_assert(strstr(out, "started from the boot cache"), "%s", out);

	/* A changed input misses the cache. */
	run("--cmdline 'cc.exec=/bin/hello -- other'");
	cr_assert(strstr(out, "boot cache saved at"), "%s", out);
	cr_assert_eq(sh("rm -rf %s", dir), 0);
}
