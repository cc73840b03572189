/*
 * A user program that spins waiting for signals (tests/linux/spin/
 * spin_alarm.c: a 3 ms interval timer, a loop on a flag, no system call
 * inside) makes no exit, so only the watchdog moves virtual time on.
 * With the user-mode bound (--spin-ms; 250 ms is PVM's default) the run
 * ends, says it is not reproducible, counts the firings and names the
 * function that spun, found by its code bytes in the image's files.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CC   CC_BUILD_DIR "/chaoscontrol"
#define SPEC CC_BUILD_DIR "/tests/host-image.json"

static char out[1 << 20];

TestSuite(spin, .init = cc_test_make_host_image);

Test(spin, a_user_spin_ends_counted_and_named, .timeout = 1200)
{
	/* Not yet run inside nested TCG (where user code is emulated too,
	 * so the 250 ms bound means less): there it waits for a measured
	 * run; on PVM and hardware KVM it runs. */
	if (getenv("CC_TEST_NESTED"))
		cr_skip_test("not yet measured under nested TCG");
	int rc = cc_test_sh(out, sizeof(out),
			    CC " run --image " SPEC " --seed 3 --spin-ms 250 "
			       "--max-vtime 60000 -- /bin/spin_alarm 2>&1");
	cr_assert_eq(rc, 0, "spin_alarm exited %d:\n%s", rc, out);
	cr_assert(strstr(out, "spin_alarm: 5 alarms: done"), "%s", out);
	const char *w = strstr(out, "the watchdog fired ");
	cr_assert(w, "no watchdog report:\n%s", out);
	unsigned long long fires =
		strtoull(w + strlen("the watchdog fired "), NULL, 10);
	cr_assert_geq(fires, 1, "%s", out);
	cr_assert(strstr(out, "NOT reproducible"), "%s", out);
	cr_assert(strstr(out, ", WATCHDOG FIRED"), "%s", out);
	cr_assert(strstr(out, "x user mode at "), "%s", out);
	/* On PVM the locator does not find the code bytes yet (the RIP
	 * is right, 0x5555...; issue 18): named on hardware KVM only. */
	if (strstr(out, "platform: PVM"))
		return;
	cr_assert(strstr(out, "user mode at spin_until_alarms+0x"),
		  "the spinning function is not named:\n%s", out);
	cr_assert(strstr(out, " in /bin/spin_alarm"), "%s", out);
}
