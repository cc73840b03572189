#include "pit.h"

#include "../base/check.h"

#include <string.h>

#define NS_PER_S 1000000000ull

static uint64_t period(const struct cc_pit_channel *c)
{
	return c->count ? c->count : 0x10000;
}

/* Whole PIT clocks elapsed since the channel was loaded. */
static uint64_t clocks_since(const struct cc_pit_channel *c, uint64_t now)
{
	if (now <= c->load_ns)
		return 0;
	return (uint64_t)((unsigned __int128)(now - c->load_ns) * CC_PIT_HZ /
			  NS_PER_S);
}

/* Virtual time at which `clocks` PIT clocks have elapsed (rounded up,
 * so the counter has really reached that value at the returned time). */
static uint64_t ns_at(const struct cc_pit_channel *c, uint64_t clocks)
{
	return c->load_ns + (uint64_t)(((unsigned __int128)clocks * NS_PER_S +
					CC_PIT_HZ - 1) /
				       CC_PIT_HZ);
}

static uint16_t counter(const struct cc_pit_channel *c, uint64_t now)
{
	if (!c->counting)
		return (uint16_t)c->count;
	uint64_t d = clocks_since(c, now), n = period(c);
	switch (c->mode) {
	case 2:
		return (uint16_t)(n - d % n);
	case 3:
		return (uint16_t)((n - (2 * d) % n) & 0xfffe);
	default:
		return (uint16_t)(n - d);
	}
}

static bool output(const struct cc_pit_channel *c, uint64_t now)
{
	if (!c->counting)
		return c->mode != 0;
	uint64_t d = clocks_since(c, now), n = period(c);
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default: /* 4, 5: a one-clock low pulse at terminal count */
		return d != n;
	}
}

/* Next IRQ 0 edge after `now` for channel 0's current programming. */
static uint64_t next_irq(const struct cc_pit_channel *c, uint64_t now)
{
	if (!c->counting)
		return CC_PIT_NEVER;
	uint64_t n = period(c);
	if (c->mode == 2 || c->mode == 3) {
		uint64_t k = clocks_since(c, now) / n + 1;
		return ns_at(c, k * n);
	}
	uint64_t t = ns_at(c, n);
	return t > now ? t : CC_PIT_NEVER;
}

void cc_pit_init(struct cc_pit *p, struct cc_irq_line irq)
{
	memset(p, 0, sizeof(*p));
	p->irq = irq;
	p->s.irq_next_ns = CC_PIT_NEVER;
	for (int i = 0; i < 3; i++)
		p->s.ch[i].access = 3;
	p->s.ch[0].gate = p->s.ch[1].gate = true;
}

static void load(struct cc_pit *p, unsigned i, uint32_t count, uint64_t now)
{
	struct cc_pit_channel *c = &p->s.ch[i];
	c->count = count;
	c->load_ns = now;
	c->counting = true;
	if (i == 0)
		p->s.irq_next_ns = next_irq(c, now);
}

static void write_count(struct cc_pit *p, unsigned i, uint8_t val, uint64_t now)
{
	struct cc_pit_channel *c = &p->s.ch[i];
	switch (c->access) {
	case 1:
		load(p, i, val, now);
		break;
	case 2:
		load(p, i, (uint32_t)val << 8, now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = val;
			c->write_msb = true;
		} else {
			c->write_msb = false;
			load(p, i, c->write_lsb | (uint32_t)val << 8, now);
		}
	}
}

static void latch_count(struct cc_pit_channel *c, uint64_t now)
{
	if (c->latched)
		return;
	c->latched = true;
	c->latch = counter(c, now);
	c->latch_reads = c->access == 3 ? 2 : 1;
}

static void latch_status(struct cc_pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status_latched = true;
	c->status = (uint8_t)((output(c, now) ? 0x80 : 0) |
			      (c->counting ? 0 : 0x40) | c->access << 4 |
			      c->mode << 1);
}

static void write_mode(struct cc_pit *p, uint8_t val, uint64_t now)
{
	unsigned sel = val >> 6;
	if (sel == 3) { /* read-back command */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(&p->s.ch[i], now);
			if (!(val & 0x10))
				latch_status(&p->s.ch[i], now);
		}
		return;
	}
	struct cc_pit_channel *c = &p->s.ch[sel];
	unsigned access = (val >> 4) & 3;
	if (access == 0) {
		latch_count(c, now);
		return;
	}
	c->access = (uint8_t)access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 alias 2 and 3 */
	c->counting = false;
	c->write_msb = c->read_msb = false;
	c->latched = c->status_latched = false;
	if (sel == 0)
		p->s.irq_next_ns = CC_PIT_NEVER;
}

static uint8_t read_latch(struct cc_pit_channel *c)
{
	uint8_t v;
	if (c->access == 2 || (c->access == 3 && c->latch_reads == 1))
		v = (uint8_t)(c->latch >> 8);
	else
		v = (uint8_t)c->latch;
	if (--c->latch_reads == 0)
		c->latched = false;
	return v;
}

static uint8_t read_count(struct cc_pit_channel *c, uint64_t now)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched)
		return read_latch(c);
	uint16_t v = counter(c, now);
	switch (c->access) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		c->read_msb = !c->read_msb;
		return c->read_msb ? (uint8_t)v : (uint8_t)(v >> 8);
	}
}

uint8_t cc_pit_read(struct cc_pit *p, uint16_t port, uint64_t now)
{
	unsigned i = port & 3;
	if (i == 3)
		return 0xff; /* the mode register is write-only */
	return read_count(&p->s.ch[i], now);
}

void cc_pit_write(struct cc_pit *p, uint16_t port, uint8_t val, uint64_t now)
{
	unsigned i = port & 3;
	if (i == 3)
		write_mode(p, val, now);
	else
		write_count(p, i, val, now);
}

uint8_t cc_pit_read_speaker(struct cc_pit *p, uint64_t now)
{
	struct cc_pit_channel *c = &p->s.ch[2];
	/* Bit 4 is the DRAM refresh toggle (every ~15 us on a PC); derive it
	 * from virtual time so code that waits on it still progresses. */
	unsigned refresh = (unsigned)((now / 15085) & 1);
	return (uint8_t)((c->gate ? 0x01 : 0) | (p->s.speaker_data ? 0x02 : 0) |
			 refresh << 4 | (output(c, now) ? 0x20 : 0));
}

void cc_pit_write_speaker(struct cc_pit *p, uint8_t val, uint64_t now)
{
	struct cc_pit_channel *c = &p->s.ch[2];
	bool gate = val & 0x01;
	/* A rising gate restarts channel 2's count (modes 1, 2, 3, 5 by the
	 * datasheet; Linux only relies on it in mode 0 after a reload). */
	if (gate && !c->gate && c->counting)
		c->load_ns = now;
	c->gate = gate;
	p->s.speaker_data = val & 0x02;
}

void cc_pit_update(struct cc_pit *p, uint64_t now)
{
	if (p->s.irq_next_ns > now)
		return;
	/* An edge: the PIC latches it; missed periods coalesce, as on real
	 * hardware when interrupts are held off. */
	cc_irq_set(&p->irq, 1);
	cc_irq_set(&p->irq, 0);
	p->s.irq_next_ns = next_irq(&p->s.ch[0], now);
}

static const char *channel_check(const struct cc_pit_channel *c)
{
	const bool *flags[] = {&c->counting, &c->write_msb,	 &c->read_msb,
			       &c->latched,  &c->status_latched, &c->gate};
	if (!cc_bools_ok(flags, sizeof(flags) / sizeof(flags[0])))
		return "PIT flag that is neither 0 nor 1";
	if (c->mode > 5 || c->access < 1 || c->access > 3 ||
	    c->count > 0xffff || c->latch_reads > 2)
		return "PIT channel state out of range";
	return NULL;
}

const char *cc_pit_state_check(const struct cc_pit_state *s)
{
	if (!cc_bool_ok(&s->speaker_data))
		return "PIT flag that is neither 0 nor 1";
	for (unsigned i = 0; i < 3; i++) {
		const char *why = channel_check(&s->ch[i]);
		if (why)
			return why;
	}
	return NULL;
}
