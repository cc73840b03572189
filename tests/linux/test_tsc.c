/*
 * Real programs that read the TSC: a dynamically linked glibc C program,
 * a C++ program (libstdc++, exceptions) and a Go program, packed with
 * their libraries into an archive over the default initramfs
 * (`chaoscontrol image build`, cc_test_make_host_image()).  init runs every
 * program with PR_SET_TSC(PR_TSC_SIGSEGV); on hardware KVM the guest kernel
 * answers each faulting rdtsc from the virtual clock (patch 0005), so the
 * programs run to completion, their TSC readings agree with
 * CLOCK_MONOTONIC at the nominal 1 GHz, a loop waiting for the TSC ends,
 * and two runs hash the same.  On PVM the CPU ignores CR4.TSD (a
 * platform limit): the programs must still complete, nothing more.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/platform.h"

#define CC    CC_BUILD_DIR "/chaoscontrol"
#define IMAGE CC_TEST_HOST_IMAGE

static char out[1 << 20];
static bool hardware;

static void setup(void)
{
	cc_test_make_host_image();
	struct cc_platform p;
	struct cc_err e;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	hardware = p.kind == CC_PLATFORM_HARDWARE;
}

TestSuite(tsc, .init = setup);

/* Runs /bin/PROG from the image; its trace hash goes to hash. */
static void run(const char *prog, char hash[17])
{
	int rc = cc_test_sh(out, sizeof(out),
			    CC " run --image " IMAGE " --seed 3 "
			       "--max-vtime 60000 -- /bin/%s 2>&1",
			    prog);
	cr_assert_eq(rc, 0, "%s exited %d:\n%s", prog, rc, out);
	char done[64];
	snprintf(done, sizeof(done), "%s: done\r\n", prog);
	cr_assert(strstr(out, done), "%s did not finish:\n%s", prog, out);
	cr_assert(strstr(out, "cc-init: exit status 0"), "%s", out);
	const char *h = strstr(out, "trace-hash: ");
	cr_assert(h, "no trace-hash in:\n%s", out);
	snprintf(hash, 17, "%.16s", h + strlen("trace-hash: "));
}

/* "PROG: sleep 50 ms: monotonic M ns tsc T ticks": at 1 GHz nominal the
 * TSC counts virtual ns, CLOCK_MONOTONIC counts 10 ms jiffies of the
 * same clock, so T is M give or take one tick. */
static void assert_tsc_follows_the_clock(const char *prog)
{
	char key[64];
	snprintf(key, sizeof(key), "%s: sleep 50 ms: monotonic ", prog);
	const char *p = strstr(out, key);
	cr_assert(p, "no sleep line from %s:\n%s", prog, out);
	unsigned long long mono, tsc;
	cr_assert_eq(
		sscanf(p + strlen(key), "%llu ns tsc %llu ticks", &mono, &tsc),
		2, "%s", p);
	cr_assert(mono >= 50000000ull, "%s slept %llu ns", prog, mono);
	cr_assert(tsc + 10000000ull >= mono && tsc <= mono + 10000000ull,
		  "%s: TSC moved %llu ticks while the clock moved %llu ns",
		  prog, tsc, mono);
}

Test(tsc, real_programs_that_read_the_tsc_run_deterministically,
     .timeout = 2400)
{
	static const char *const progs[] = {"tsc_c", "tsc_cpp", "tsc_go"};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char h1[17], h2[17];
		run(progs[i], h1);
		if (!hardware)
			continue; /* PVM: the host TSC leaks (a platform limit)
				   */
		cr_assert(strstr(out, "monotone yes") ||
				  strstr(out, "monotone true"),
			  "%s", out);
		assert_tsc_follows_the_clock(progs[i]);
		if (i == 0) {
			/* A loop polling the TSC (no system calls) ends: each
			 * emulated read is progress that moves the clock. */
			unsigned long reads = 0;
			const char *w = strstr(out, "waited 1000000 ticks in ");
			cr_assert(w, "%s", out);
			reads = strtoul(w + strlen("waited 1000000 ticks in "),
					NULL, 10);
			cr_assert(reads > 0 && reads < 100000, "%lu reads",
				  reads);
		}
		run(progs[i], h2);
		cr_assert_str_eq(h1, h2, "%s: two runs, two hashes", progs[i]);
	}
}
