/*
 * popcnt at CPL0: PVM's emulator does not implement it (DESIGN.md 4b).
 * There the VMM must stop with a clear error naming the RIP and the bytes;
 * on hardware KVM it just runs and the guest exits 0.
 */
#include "micro.h"

static long count_bits(long v)
{
	long r;
	__asm__ volatile("popcnt %1, %0" : "=r"(r) : "r"(v));
	return r;
}

void micro_main(void)
{
	RT_CHECK(rt_kernel(count_bits, 0xff) == 8);
}
