/*
 * How a device drives an interrupt line without knowing who listens:
 * the VMM wires each device's line to the PIC when it creates it.
 */
#ifndef CC_IRQ_H
#define CC_IRQ_H

struct cc_irq_line {
	void (*set)(void *ctx, unsigned irq, int level);
	void *ctx;
	unsigned irq;
};

static inline void cc_irq_set(const struct cc_irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->irq, level);
}

#endif
