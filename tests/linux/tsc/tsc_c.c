/*
 * A glibc program, dynamically linked, that reads the TSC the way real
 * programs do (and glibc's own loader does at start-up).  Under
 * ChaosControl on hardware KVM every rdtsc faults (CR4.TSD, set by init)
 * and the guest kernel answers it from the virtual clock, so every line
 * below is the same in every run.  Packed into a test archive by
 * `chaoscontrol image build` (tests/helpers.c), run by tests/linux/test_tsc.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(void)
{
	uint64_t a = __rdtsc(), b = __rdtsc();
	printf("tsc_c: first %llu second %llu monotone %s\n",
	       (unsigned long long)a, (unsigned long long)b,
	       b >= a ? "yes" : "no");

	/* A loop that waits for the TSC to move on: it makes no system
	 * call, so it ends only if reading the TSC moves virtual time. */
	uint64_t t0 = __rdtsc();
	unsigned long reads = 0;
	while (__rdtsc() - t0 < 1000000)
		reads++;
	printf("tsc_c: waited 1000000 ticks in %lu reads\n", reads);

	uint64_t m0 = mono_ns(), s0 = __rdtsc();
	struct timespec nap = {0, 50 * 1000 * 1000};
	nanosleep(&nap, NULL);
	uint64_t m1 = mono_ns(), s1 = __rdtsc();
	printf("tsc_c: sleep 50 ms: monotonic %llu ns tsc %llu ticks\n",
	       (unsigned long long)(m1 - m0), (unsigned long long)(s1 - s0));
	printf("tsc_c: done\n");
	return 0;
}
