/*
 * The determinism suite on micro-guests: each guest runs 20 times in
 * fresh processes (`chaoscontrol determinism`) and every trace hash must
 * be identical - also while another process hogs the other core.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CC    CC_BUILD_DIR "/chaoscontrol"
#define MICRO CC_BUILD_DIR "/guest/micro/"

/* 20 runs per guest; 5 under ASan on nested TCG (make asan on a machine
 * without /dev/kvm), where 20 of busy_clock outlast the 600 s limit. */
static const char *runs(void)
{
#ifdef __SANITIZE_ADDRESS__
	if (getenv("CC_TEST_NESTED"))
		return "5";
#endif
	return "20";
}

static char out[1 << 16];

/* The shared runner, writing into this file's `out`. */
#define sh(...) cc_test_sh(out, sizeof(out), __VA_ARGS__)

static void assert_identical(const char *guest)
{
	int rc = sh(CC " determinism --runs %s --kernel " MICRO
		       "%s.elf --no-initrd --seed 7 2>&1",
		    runs(), guest);
	cr_assert_eq(rc, 0, "%s:\n%s", guest, out);
	char want[64];
	snprintf(want, sizeof(want),
		 "identical: %s runs, trace-hash: ", runs());
	cr_assert(strstr(out, want), "%s:\n%s", guest, out);
}

/* A CPU hog on the other core for the length of a test. */
static pid_t hog;

static void start_hog(void)
{
	hog = cc_test_hog_start();
}

static void stop_hog(void)
{
	cc_test_hog_stop(hog);
}

#define GUESTS(X)                                                              \
	X(hello)                                                               \
	X(pit_ticks)                                                           \
	X(port_io)                                                             \
	X(entropy_seed)                                                        \
	X(busy_clock)                                                          \
	X(busy_flag)                                                           \
	X(breakpoint)                                                          \
	X(mmio_user)

#define QUIET_TEST(g)                                                          \
	Test(determinism, g, .timeout = 600)                                   \
	{                                                                      \
		assert_identical(#g);                                          \
	}
#define HOG_TEST(g)                                                            \
	Test(determinism_under_load, g, .init = start_hog, .fini = stop_hog,   \
	     .timeout = 600)                                                   \
	{                                                                      \
		assert_identical(#g);                                          \
	}

GUESTS(QUIET_TEST)
GUESTS(HOG_TEST)

Test(determinism, seeds_change_guest_entropy_and_only_seeds_do)
{
	char a[256], b[256], c[256];
	const char *cmd =
		CC " run --kernel " MICRO
		   "entropy_seed.elf --no-initrd --seed %d 2>/dev/null";
	cr_assert_eq(sh(cmd, 1), 0);
	snprintf(a, sizeof(a), "%.255s", out);
	cr_assert_eq(sh(cmd, 2), 0);
	snprintf(b, sizeof(b), "%.255s", out);
	cr_assert_eq(sh(cmd, 1), 0);
	snprintf(c, sizeof(c), "%.255s", out);
	cr_assert(strstr(a, "seed: 0x"), "%s", a);
	cr_assert_str_neq(a, b, "different seeds, different bytes");
	cr_assert_str_eq(a, c, "same seed, same bytes and trace hash");
}

Test(determinism, divergence_is_found_and_named)
{
	int rc = sh(CC " determinism --runs 3 --kernel " MICRO
		       "rdtsc_leak.elf --no-initrd 2>&1");
	cr_assert_eq(rc, 6, "%s", out);
	cr_assert(strstr(out, "diverged: run 1 differs from run 0"), "%s", out);
	cr_assert(strstr(out, "first divergent event: #"), "%s", out);
	/* The first difference is a console byte of the printed TSC. */
	cr_assert(strstr(out, "pio_out port 0x3f8 size 1 data"), "%s", out);
	cr_assert(strstr(out, "rip 0x"), "%s", out);
}

Test(determinism, tracing_to_a_file_keeps_the_hash)
{
	char h1[64], h2[64];
	cr_assert_eq(sh(CC " run --kernel " MICRO "pit_ticks.elf --no-initrd "
			   "2>/dev/null | tail -1"),
		     0);
	snprintf(h1, sizeof(h1), "%.63s", out);
	cr_assert_eq(sh(CC " run --kernel " MICRO "pit_ticks.elf --no-initrd "
			   "--trace /tmp/cc-trace-test.$$ 2>/dev/null | "
			   "tail -1; rm -f /tmp/cc-trace-test.$$"),
		     0);
	snprintf(h2, sizeof(h2), "%.63s", out);
	cr_assert(!strncmp(h1, "trace-hash: ", 12), "%s", h1);
	cr_assert_str_eq(h1, h2);
}

Test(determinism, ticks_bound_the_run)
{
	cr_assert_eq(sh(CC " run --json --ticks 50 --kernel " MICRO
			   "pit_ticks.elf --no-initrd 2>/dev/null"),
		     0, "%s", out);
	cr_assert(strstr(out, "\"stop\": \"limit\""), "%s", out);
	cr_assert(strstr(out, "\"vclock_ns\": 50"), "%s", out);
	cr_assert(strstr(out, "\"trace_hash\": \""), "%s", out);
}
