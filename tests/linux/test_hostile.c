/*
 * The hostile guest on Linux: it reads time every way, sleeps, uses
 * timers, randomness, fork, threads and pipes, and busy-waits twice.
 * Fresh boots with one seed must be identical event for event (and so in
 * output); another seed must change its random bytes; virtual time must
 * be honest; the watchdog must never fire.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define CC	CC_BUILD_DIR "/chaoscontrol"
#define HOSTILE "--cmdline cc.exec=/bin/hostile"

#define sh cc_test_sh

/* The number after "key: " in s, or LLONG_MIN. */
static long long value(const char *s, const char *key)
{
	const char *p = strstr(s, key);
	if (!p)
		return LLONG_MIN;
	return atoll(p + strlen(key));
}

static const char *line(const char *s, const char *key, char *buf, size_t len)
{
	const char *p = strstr(s, key);
	if (!p)
		return "";
	size_t n = strcspn(p, "\r\n");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
	return buf;
}

static char out1[1 << 20], out2[1 << 20];

Test(hostile, runs_honestly_and_seeds_reach_its_randomness, .timeout = 3600)
{
	cr_assert_eq(sh(out1, sizeof(out1),
			CC " run --no-cache --seed 1 --stats " HOSTILE " 2>&1"),
		     0, "%s", out1);
	cr_assert(strstr(out1, "hostile guest: start"), "%s", out1);
	cr_assert(strstr(out1, "cc-init: exit status 0"), "%s", out1);
	cr_assert(strstr(out1, "watchdog fires (non-deterministic): 0\n"), "%s",
		  out1);
	/* sleep(1) is one virtual second, +- one 10 ms tick. */
	long long slept = value(out1, "sleep(1) took ns: ");
	cr_assert(slept >= 990000000ll && slept <= 1010000000ll,
		  "sleep(1) took %lld ns\n%s", slept, out1);
	/* Both busy-waits ended on virtual time. */
	cr_assert(value(out1, "busy clock: polls until 10 ms: ") > 0, "%s",
		  out1);
	cr_assert(value(out1, "busy spin: iterations until SIGALRM: ") > 0,
		  "%s", out1);
	cr_assert(value(out1, "progress units: ") > 0, "%s", out1);
	/* The host TSC cannot be switched back on from the guest. */
	cr_assert(strstr(out1, "PR_TSC_ENABLE: refused (EPERM)"), "%s", out1);
	cr_assert(strstr(out1, "digest: "), "%s", out1);

	cr_assert_eq(sh(out2, sizeof(out2),
			CC " run --seed 2 " HOSTILE " 2>/dev/null"),
		     0, "%s", out2);
	char a[256], b[256];
	cr_assert_str_neq(line(out1, "urandom:", a, sizeof(a)),
			  line(out2, "urandom:", b, sizeof(b)),
			  "seeds 1 and 2 gave the same urandom bytes");
	cr_assert_str_neq(line(out1, "getrandom:", a, sizeof(a)),
			  line(out2, "getrandom:", b, sizeof(b)));
	/* Everything that is not randomness is the same. */
	cr_assert_str_eq(line(out1, "sleep(1) took", a, sizeof(a)),
			 line(out2, "sleep(1) took", b, sizeof(b)));
}

Test(hostile, three_fresh_boots_are_identical, .timeout = 3600)
{
	int rc = sh(out1, sizeof(out1),
		    CC " determinism --runs 3 --no-cache --seed 1 " HOSTILE
		       " 2>&1");
	cr_assert_eq(rc, 0, "%s", out1);
	cr_assert(strstr(out1, "identical: 3 runs, trace-hash: "), "%s", out1);
}

Test(hostile, twenty_runs_from_the_boot_cache_are_identical, .timeout = 3600)
{
	int rc = sh(out1, sizeof(out1),
		    CC " determinism --runs 20 --seed 4 " HOSTILE " 2>&1");
	cr_assert_eq(rc, 0, "%s", out1);
	cr_assert(strstr(out1, "identical: 20 runs, trace-hash: "), "%s", out1);
}
