/*
 * 100 seconds of virtual idle, the way a tickless kernel idles: the
 * slowest timer the PIT offers (count 65536: 18.2 Hz, 1821 wake-ups) and
 * a halt loop that stays at CPL0.  With HLT fast-forward this takes a
 * fraction of a wall second even where CPL0 is emulated.
 */
#include "micro.h"

#define PIT_HZ	   1193182ull
#define TICKS_100S (100ull * PIT_HZ / 65536 + 1)

static long idle(long n)
{
	while (rt_ticks < (uint64_t)n)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	return 0;
}

void micro_main(void)
{
	rt_timer_start_divisor(65536);
	rt_kernel(idle, (long)TICKS_100S);
	rt_puts("idle: 100 s\n");
}
