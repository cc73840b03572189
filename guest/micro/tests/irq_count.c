/*
 * Counts what the VMM injects: edges on IRQ 3 (unmasked here, no device
 * raises it) and NMIs (vector 2).  A 1 kHz timer keeps it waking; each
 * time a count changes it prints "irq3 N nmi M".  Runs until stopped.
 */
#include "micro.h"

static volatile uint64_t irq3, nmis;

static void on_irq3(struct rt_frame *f)
{
	(void)f;
	irq3++;
}

static void on_nmi(struct rt_frame *f)
{
	(void)f;
	nmis++;
}

void micro_main(void)
{
	rt_set_trap(RT_VEC_IRQ0 + 3, on_irq3);
	rt_set_trap(2, on_nmi);
	rt_irq_unmask(3);
	rt_timer_start(1000);
	uint64_t seen_irq = 0, seen_nmi = 0;
	for (;;) {
		rt_hlt();
		if (irq3 == seen_irq && nmis == seen_nmi)
			continue;
		seen_irq = irq3;
		seen_nmi = nmis;
		rt_puts("irq3 ");
		rt_put_u64(seen_irq);
		rt_puts(" nmi ");
		rt_put_u64(seen_nmi);
		rt_puts("\n");
	}
}
