/*
 * A guest that is always busy, for snapshot tests: a 1 kHz timer, a
 * rolling write over 1 MiB of RAM each tick, a console line every 10
 * ticks, progress reports in between.  It never ends by itself; the VMM
 * stops it at a tick horizon, so a snapshot can land in the middle of
 * anything (a pending timer IRQ, a console line half written).
 */
#include "micro.h"

#define ARENA (1u << 20)

static volatile uint64_t ticks;
static uint8_t arena[ARENA] __attribute__((aligned(4096)));

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
	uint64_t seen = 0, sum = 0;
	for (;;) {
		while (ticks == seen) {
			rt_progress(1);
			rt_hlt();
		}
		seen = ticks;
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
