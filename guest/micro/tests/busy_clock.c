/*
 * Busy-wait 1: polls a clock until 10 ms have passed, never sleeping.
 * The clock is the PIT (each read is an exit, so virtual time moves by
 * the exit cost), plus the timer-IRQ tick count for whole periods.
 */
#include "micro.h"

static volatile uint64_t ticks;

static void on_tick(struct rt_frame *f)
{
	(void)f;
	ticks++;
}

void micro_main(void)
{
	rt_set_trap(RT_VEC_IRQ0 + CC_IRQ_PIT, on_tick);
	rt_pit_periodic(1000);
	rt_irq_unmask(CC_IRQ_PIT);
	uint64_t polls = 0;
	while (ticks < 10) {
		(void)rt_pit_count();
		polls++;
	}
	rt_puts("busy clock: 10 ms after ");
	rt_put_u64(polls);
	rt_puts(" polls\n");
}
