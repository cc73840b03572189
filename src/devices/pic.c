#include "pic.h"

#include "../base/check.h"

#include <string.h>

#define CASCADE_IRQ 2

void cc_pic_init(struct cc_pic *p)
{
	memset(p, 0, sizeof(*p));
	/* Until the guest programs them, both chips mask everything and
	 * use the BIOS vector bases. */
	p->chip[0].imr = 0xff;
	p->chip[1].imr = 0xff;
	p->chip[0].vector_base = 0x08;
	p->chip[1].vector_base = 0x70;
}

/* Highest-priority set bit of `mask` in the chip's rotation, or 8. */
static unsigned highest(const struct cc_pic_chip *c, uint8_t mask)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned irq = (i + c->priority_add) & 7;
		if (mask & (1u << irq))
			return i;
	}
	return 8;
}

/* IRQ (0-7) this chip would signal now, or -1. */
static int chip_irq(const struct cc_pic_chip *c)
{
	unsigned req = highest(c, c->irr & ~c->imr);
	if (req == 8)
		return -1;
	uint8_t in_service = c->isr;
	/* Special mask mode: masked in-service levels don't block others. */
	if (c->special_mask)
		in_service &= (uint8_t)~c->imr;
	unsigned cur = highest(c, in_service);
	if (req < cur)
		return (int)((req + c->priority_add) & 7);
	return -1;
}

static void chip_set(struct cc_pic_chip *c, unsigned irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (level && !(c->lines & bit))
		c->irr |= bit;
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
}

/* The slave's output drives the master's cascade input. */
static void update_cascade(struct cc_pic *p)
{
	chip_set(&p->chip[0], CASCADE_IRQ, chip_irq(&p->chip[1]) >= 0);
}

void cc_pic_set_irq(struct cc_pic *p, unsigned irq, int level)
{
	if (irq >= 16)
		return;
	if (irq >= 8)
		chip_set(&p->chip[1], irq - 8, level);
	else
		chip_set(&p->chip[0], irq, level);
	update_cascade(p);
}

bool cc_pic_pending(const struct cc_pic *p)
{
	return chip_irq(&p->chip[0]) >= 0;
}

/* Acknowledge `irq` on chip c; returns the vector. */
static uint8_t chip_ack(struct cc_pic_chip *c, int irq)
{
	uint8_t bit = (uint8_t)(1u << irq);
	c->irr &= (uint8_t)~bit; /* edge-triggered: the latch clears */
	if (!c->auto_eoi)
		c->isr |= bit;
	return (uint8_t)(c->vector_base + irq);
}

uint8_t cc_pic_ack(struct cc_pic *p)
{
	int irq = chip_irq(&p->chip[0]);
	if (irq < 0)
		return (uint8_t)(p->chip[0].vector_base + 7); /* spurious */
	if (irq != CASCADE_IRQ)
		return chip_ack(&p->chip[0], irq);
	chip_ack(&p->chip[0], irq);
	int sirq = chip_irq(&p->chip[1]);
	uint8_t v = sirq < 0 ? (uint8_t)(p->chip[1].vector_base + 7)
			     : chip_ack(&p->chip[1], sirq);
	update_cascade(p);
	return v;
}

static void write_icw1(struct cc_pic_chip *c, uint8_t val)
{
	c->irr = 0;
	c->isr = 0;
	c->imr = 0;
	c->lines = 0;
	c->priority_add = 0;
	c->auto_eoi = false;
	c->read_isr = false;
	c->special_mask = false;
	c->poll = false;
	c->icw4_needed = val & 0x01;
	c->single = val & 0x02;
	c->init_state = 1;
}

static void write_ocw2(struct cc_pic_chip *c, uint8_t val)
{
	unsigned cmd = val >> 5;
	int irq = -1;
	switch (cmd) {
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		if (highest(c, c->isr) < 8)
			irq = (int)((highest(c, c->isr) + c->priority_add) & 7);
		break;
	case 3: /* specific EOI */
	case 7: /* rotate on specific EOI */
		irq = val & 7;
		break;
	case 6: /* set priority */
		c->priority_add = (uint8_t)((val + 1) & 7);
		return;
	default:
		return;
	}
	if (irq < 0)
		return;
	c->isr &= (uint8_t) ~(1u << irq);
	if (cmd == 5 || cmd == 7)
		c->priority_add = (uint8_t)((irq + 1) & 7);
}

static void write_cmd(struct cc_pic_chip *c, uint8_t val)
{
	if (val & 0x10) {
		write_icw1(c, val);
	} else if (val & 0x08) { /* OCW3 */
		if (val & 0x04)
			c->poll = true;
		if (val & 0x02)
			c->read_isr = val & 0x01;
		if (val & 0x40)
			c->special_mask = (val >> 5) & 1;
	} else {
		write_ocw2(c, val);
	}
}

static void write_data(struct cc_pic_chip *c, uint8_t val)
{
	switch (c->init_state) {
	case 1:
		c->vector_base = val & 0xf8;
		c->init_state = c->single ? (c->icw4_needed ? 3 : 0) : 2;
		break;
	case 2: /* ICW3: cascade wiring, fixed for a PC */
		c->init_state = c->icw4_needed ? 3 : 0;
		break;
	case 3:
		c->auto_eoi = val & 0x02;
		c->init_state = 0;
		break;
	default:
		c->imr = val;
		break;
	}
}

static struct cc_pic_chip *chip_of(struct cc_pic *p, uint16_t port)
{
	return (port & 0x80) ? &p->chip[1] : &p->chip[0];
}

uint8_t cc_pic_read(struct cc_pic *p, uint16_t port)
{
	struct cc_pic_chip *c = chip_of(p, port);
	if (c->poll) {
		c->poll = false;
		int irq = chip_irq(c);
		if (irq < 0)
			return 0;
		chip_ack(c, irq);
		update_cascade(p);
		return (uint8_t)(0x80 | irq);
	}
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

void cc_pic_write(struct cc_pic *p, uint16_t port, uint8_t val)
{
	struct cc_pic_chip *c = chip_of(p, port);
	if (port & 1)
		write_data(c, val);
	else
		write_cmd(c, val);
	update_cascade(p);
}

static const char *chip_check(const struct cc_pic_chip *c)
{
	const bool *flags[] = {&c->icw4_needed, &c->single,	  &c->auto_eoi,
			       &c->read_isr,	&c->special_mask, &c->poll};
	if (!cc_bools_ok(flags, sizeof(flags) / sizeof(flags[0])))
		return "PIC flag that is neither 0 nor 1";
	if (c->init_state > 3 || c->priority_add > 7)
		return "PIC initialisation state out of range";
	return NULL;
}

const char *cc_pic_state_check(const struct cc_pic *p)
{
	const char *why = chip_check(&p->chip[0]);
	return why ? why : chip_check(&p->chip[1]);
}
