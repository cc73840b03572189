/*
 * Busy-wait 1: polls a clock until 10 ms have passed, never sleeping.
 * The clock is the PIT (each read is an exit, so virtual time moves by
 * the exit cost), plus the timer-IRQ tick count for whole periods.
 */
#include "micro.h"

void micro_main(void)
{
	rt_timer_start(1000);
	uint64_t polls = 0;
	while (rt_ticks < 10) {
		(void)rt_pit_count();
		polls++;
	}
	rt_puts("busy clock: 10 ms after ");
	rt_put_u64(polls);
	rt_puts(" polls\n");
}
