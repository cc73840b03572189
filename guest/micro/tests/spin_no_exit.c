/*
 * Spins at CPL3 on a flag that only the timer IRQ sets.  No exit ever
 * happens inside the loop, so virtual time cannot advance by itself: only
 * the VMM's liveness watchdog can move it (and must count that as a
 * non-deterministic event).
 */
#include "micro.h"

void micro_main(void)
{
	rt_timer_start(100);
	while (rt_ticks == 0)
		;
	rt_puts("spin ended by a timer tick\n");
}
