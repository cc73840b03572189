/*
 * PIT channel 0 at 1000 Hz, IRQ 0 counted at CPL0; the body halts until
 * 100 ticks have passed.  With HLT fast-forward the VMM's virtual clock
 * must read 100 ms (+- one tick) at the end, whatever the wall clock did.
 */
#include "micro.h"

void micro_main(void)
{
	rt_timer_start(1000);
	while (rt_ticks < 100)
		rt_hlt();
	rt_puts("ticks: ");
	rt_put_u64(rt_ticks);
	rt_puts("\n");
}
