/*
 * 100 seconds of virtual idle, the way a tickless kernel idles: the
 * slowest timer the PIT offers (count 65536: 18.2 Hz, 1821 wake-ups) and
 * a halt loop that stays at CPL0.  With HLT fast-forward this takes a
 * fraction of a wall second even where CPL0 is emulated.
 */
#include "micro.h"

#define PIT_HZ	   1193182ull
#define TICKS_100S (100ull * PIT_HZ / 65536 + 1)

static volatile uint64_t ticks;

static void on_tick(struct rt_frame *f)
{
	(void)f;
	ticks++;
}

static long idle(long n)
{
	while (ticks < (uint64_t)n)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	return 0;
}

void micro_main(void)
{
	rt_set_trap(RT_VEC_IRQ0 + CC_IRQ_PIT, on_tick);
	rt_outb(CC_PORT_PIT_MODE, 0x34); /* mode 2, count 0 = 65536 */
	rt_outb(CC_PORT_PIT_BASE, 0);
	rt_outb(CC_PORT_PIT_BASE, 0);
	rt_irq_unmask(CC_IRQ_PIT);
	rt_kernel(idle, (long)TICKS_100S);
	rt_puts("idle: 100 s\n");
}
