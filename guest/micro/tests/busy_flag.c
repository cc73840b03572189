/*
 * Busy-wait 2: spins until the timer IRQ sets a flag, with no I/O in the
 * loop.  What an instrumented program's edge hook does is done here by
 * hand: every 64 iterations the loop reports one unit of progress, so
 * virtual time advances deterministically and the watchdog never fires.
 */
#include "micro.h"

void micro_main(void)
{
	rt_timer_start(100);
	uint64_t spins = 0;
	while (rt_ticks == 0) {
		if (++spins % 64 == 0)
			rt_progress(1);
	}
	rt_puts("busy flag: tick after ");
	rt_put_u64(spins);
	rt_puts(" spins\n");
}
