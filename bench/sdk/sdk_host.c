/*
 * bench/sdk_host: the guest-side cost of one SDK assertion, natively
 * (the SDK built for the host): the mode the SDK chose at start-up, ns per
 * CC_ALWAYS call, and a baseline measured in the same run - a call to an
 * empty out-of-line function.  In local mode (records to /dev/null) the
 * figure is the JSON formatting a VM-mode call also pays before its one
 * exit; make bench runs it in both modes.
 */
#include <stdio.h>
#include <time.h>

#include "chaoscontrol.h"

#define N 200000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void empty(int i)
{
	__asm__ volatile("" ::"r"(i));
}

int main(void)
{
	static const char *const mode[] = {"no-op", "local", "vm"};
	double t0 = now();
	for (int i = 0; i < N; i++)
		empty(i);
	double t1 = now();
	for (int i = 0; i < N; i++)
		CC_ALWAYS(i >= 0, "bench", "{\"i\":1}");
	double t2 = now();
	double base = (t1 - t0) / N * 1e9, call = (t2 - t1) / N * 1e9;
	printf("SDK %-6s mode: %8.1f ns/call (baseline empty call %.1f ns, "
	       "%.0fx)\n",
	       mode[cc_sdk_mode()], call, base, call / (base > 0 ? base : 1));
	return 0;
}
