/*
 * A guest that is always busy, for snapshot tests: a 1 kHz timer, a
 * rolling write over 1 MiB of RAM each tick, a console line every 10
 * ticks, progress reports in between.  It never ends by itself; the VMM
 * stops it at a tick horizon, so a snapshot can land in the middle of
 * anything (a pending timer IRQ, a console line half written).
 */
#include "micro.h"

#define ARENA (1u << 20)

static uint8_t arena[ARENA] __attribute__((aligned(4096)));

void micro_main(void)
{
	rt_timer_start(1000);
	uint64_t seen = 0, sum = 0;
	for (;;) {
		while (rt_ticks == seen) {
			rt_progress(1);
			rt_hlt();
		}
		seen = rt_ticks;
		uint32_t at = (uint32_t)(seen * 4096 + seen * 7) % ARENA;
		arena[at] = (uint8_t)seen;
		sum += arena[(at * 13) % ARENA];
		if (seen % 10 == 0) {
			rt_puts("tick ");
			rt_put_u64(seen);
			rt_puts(" sum ");
			rt_put_u64(sum);
			rt_puts("\n");
		}
	}
}
