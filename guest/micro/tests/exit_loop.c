/*
 * Benchmark guest: port writes in a tight CPL0 loop, forever.  The VMM
 * (or the raw KVM_RUN loop of bench/exit_cost.c) stops it after N exits.
 */
#include "micro.h"

static long spin_out(long arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("outb %%al, $0x80" ::: "memory");
	return 0;
}

void micro_main(void)
{
	rt_kernel(spin_out, 0);
}
