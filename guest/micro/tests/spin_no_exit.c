/*
 * Spins at CPL3 on a flag that only the timer IRQ sets.  No exit ever
 * happens inside the loop, so virtual time cannot advance by itself: only
 * the VMM's liveness watchdog can move it (and must count that as a
 * non-deterministic event).
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
	rt_pit_periodic(100);
	rt_irq_unmask(CC_IRQ_PIT);
	while (ticks == 0)
		;
	rt_puts("spin ended by a timer tick\n");
}
