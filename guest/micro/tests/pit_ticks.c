/*
 * PIT channel 0 at 1000 Hz, IRQ 0 counted at CPL0; the body halts until
 * 100 ticks have passed.  With HLT fast-forward the VMM's virtual clock
 * must read 100 ms (+- one tick) at the end, whatever the wall clock did.
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
	while (ticks < 100)
		rt_hlt();
	rt_puts("ticks: ");
	rt_put_u64(ticks);
	rt_puts("\n");
}
