/*
 * int3 at CPL3 and at CPL0 must both reach the #BP handler with RIP just
 * past the int3.  On PVM the CPL0 one fails to emulate and the VMM's
 * fix-up delivers the #BP (counted in its stats).
 */
#include "micro.h"

static volatile uint64_t hits, last_rip;

static void on_bp(struct rt_frame *f)
{
	hits++;
	last_rip = f->rip;
}

static long kernel_int3(long arg)
{
	(void)arg;
	__asm__ volatile("int3");
	return 0;
}

void micro_main(void)
{
	rt_set_trap(3, on_bp);
	__asm__ volatile("int3");
	RT_CHECK(hits == 1);
	rt_kernel(kernel_int3, 0);
	RT_CHECK(hits == 2);
	RT_CHECK(last_rip > (uint64_t)kernel_int3);
	RT_CHECK(last_rip < (uint64_t)kernel_int3 + 32);
	rt_puts("breakpoints: 2\n");
}
