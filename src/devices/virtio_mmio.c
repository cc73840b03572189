#include "virtio_mmio.h"

#include <stdio.h>
#include <string.h>

/* Register offsets (virtio 1.x 4.2.2). */
enum {
	R_MAGIC = 0x000,
	R_VERSION = 0x004,
	R_DEVICE_ID = 0x008,
	R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010,
	R_DEV_FEATURES_SEL = 0x014,
	R_DRV_FEATURES = 0x020,
	R_DRV_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030,
	R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050,
	R_ISR = 0x060,
	R_ISR_ACK = 0x064,
	R_STATUS = 0x070,
	R_DESC_LO = 0x080,
	R_DESC_HI = 0x084,
	R_AVAIL_LO = 0x090,
	R_AVAIL_HI = 0x094,
	R_USED_LO = 0x0a0,
	R_USED_HI = 0x0a4,
	R_CONFIG_GEN = 0x0fc,
	R_CONFIG = 0x100,
};

#define MAGIC	   0x74726976u /* "virt" */
#define VENDOR_ID  0x43434343u /* "CCCC" */
#define ISR_USED   1u
#define ISR_CONFIG 2u

void cc_virtio_mmio_init(struct cc_virtio_mmio *t,
			 const struct cc_virtio_ops *ops, struct cc_mem *mem,
			 struct cc_irq_line irq, uint64_t base)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->mem = mem;
	t->irq = irq;
	t->base = base;
	for (unsigned i = 0; i < CC_VIRTIO_MAX_QUEUES; i++)
		t->s.due[i] = CC_VIRTIO_NEVER;
}

static void update_irq(struct cc_virtio_mmio *t)
{
	cc_irq_set(&t->irq, t->s.isr != 0);
}

void cc_virtio_mmio_fail(struct cc_virtio_mmio *t, const char *why)
{
	t->s.errors++;
	snprintf(t->s.last_error, sizeof(t->s.last_error), "%s", why);
	if (t->log)
		t->log(t->log_ctx, t->ops->name, why);
	if (t->s.status & CC_VIRTIO_S_NEEDS_RESET)
		return;
	t->s.status |= CC_VIRTIO_S_NEEDS_RESET;
	for (unsigned i = 0; i < CC_VIRTIO_MAX_QUEUES; i++)
		t->s.due[i] = CC_VIRTIO_NEVER;
	/* A config-change interrupt tells the driver to look at status. */
	if (t->s.status & CC_VIRTIO_S_DRIVER_OK) {
		t->s.isr |= ISR_CONFIG;
		update_irq(t);
	}
}

static void reset(struct cc_virtio_mmio *t)
{
	t->s.status = 0;
	t->s.isr = 0;
	t->s.dev_features_sel = t->s.drv_features_sel = 0;
	t->s.drv_features = 0;
	t->s.queue_sel = 0;
	memset(t->s.q, 0, sizeof(t->s.q));
	for (unsigned i = 0; i < CC_VIRTIO_MAX_QUEUES; i++)
		t->s.due[i] = CC_VIRTIO_NEVER;
	update_irq(t);
	if (t->ops->reset)
		t->ops->reset(t);
}

bool cc_virtio_mmio_live(const struct cc_virtio_mmio *t, unsigned q)
{
	return q < t->ops->nqueues && t->s.q[q].ready &&
	       (t->s.status & CC_VIRTIO_S_DRIVER_OK) &&
	       !(t->s.status & CC_VIRTIO_S_NEEDS_RESET);
}

void cc_virtio_mmio_used(struct cc_virtio_mmio *t, unsigned q)
{
	if (!cc_virtq_no_interrupt(&t->s.q[q], t->mem))
		t->s.isr |= ISR_USED;
}

static struct cc_virtq *selected(struct cc_virtio_mmio *t)
{
	return t->s.queue_sel < t->ops->nqueues ? &t->s.q[t->s.queue_sel]
						: NULL;
}

static uint32_t read_reg(struct cc_virtio_mmio *t, uint64_t off)
{
	const struct cc_virtio_ops *o = t->ops;
	struct cc_virtq *q = selected(t);
	switch (off) {
	case R_MAGIC:
		return MAGIC;
	case R_VERSION:
		return 2;
	case R_DEVICE_ID:
		return o->device_id;
	case R_VENDOR_ID:
		return VENDOR_ID;
	case R_DEV_FEATURES:
		return t->s.dev_features_sel > 1
			       ? 0
			       : (uint32_t)(o->features >>
					    (32 * t->s.dev_features_sel));
	case R_QUEUE_NUM_MAX:
		return q ? o->queue_max : 0;
	case R_QUEUE_READY:
		return q ? q->ready : 0;
	case R_ISR:
		return t->s.isr;
	case R_STATUS:
		return t->s.status;
	case R_CONFIG_GEN:
		return t->s.config_generation;
	default:
		return 0; /* write-only or reserved */
	}
}

void cc_virtio_mmio_read(struct cc_virtio_mmio *t, uint64_t off, uint8_t *data,
			 uint32_t len, uint64_t now)
{
	(void)now;
	memset(data, 0, len);
	if (off >= R_CONFIG) {
		uint64_t c = off - R_CONFIG;
		if (c < t->ops->config_len && len <= t->ops->config_len - c)
			t->ops->config_read(t, (uint32_t)c, data, len);
		return;
	}
	if (len != 4 || (off & 3))
		return; /* the spec allows only aligned 32-bit register reads */
	uint32_t v = read_reg(t, off);
	memcpy(data, &v, 4);
}

static void set_addr(struct cc_virtio_mmio *t, uint64_t *field, bool hi,
		     uint32_t v)
{
	if (selected(t)->ready)
		return; /* a ready queue's rings do not move (until a reset) */
	*field = hi ? (*field & 0xffffffffull) | (uint64_t)v << 32
		    : (*field & ~0xffffffffull) | v;
}

static void queue_ready(struct cc_virtio_mmio *t, struct cc_virtq *q,
			uint32_t v)
{
	if (!v) {
		q->ready = 0;
		return;
	}
	const char *why = cc_virtq_check(q, t->mem);
	if (why) {
		char msg[96];
		snprintf(msg, sizeof(msg), "queue %u: %s", t->s.queue_sel, why);
		cc_virtio_mmio_fail(t, msg);
		return;
	}
	q->ready = 1;
}

static void set_status(struct cc_virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		reset(t);
		return;
	}
	uint32_t add = v & ~t->s.status;
	if (add & CC_VIRTIO_S_FEATURES_OK) {
		/* Only what we offered, and never without VERSION_1. */
		if ((t->s.drv_features & ~t->ops->features) ||
		    !(t->s.drv_features & CC_VIRTIO_F_VERSION_1)) {
			cc_virtio_mmio_fail(t, "driver accepted features we "
					       "did not offer, or not "
					       "VERSION_1");
			v &= ~CC_VIRTIO_S_FEATURES_OK;
		}
	}
	/* A driver must not clear status bits (virtio 1.x, 2.1.1): only a
	 * reset (0) does.  Clearing DRIVER_OK would otherwise let it move a
	 * live queue's rings.  The device owns NEEDS_RESET. */
	t->s.status |= v & ~CC_VIRTIO_S_NEEDS_RESET;
}

static void notify(struct cc_virtio_mmio *t, uint32_t v, uint64_t now)
{
	t->s.notifies++;
	if (!cc_virtio_mmio_live(t, v))
		return; /* a kick for a queue that is not set up is ignored */
	cc_virtio_mmio_kick(t, v, now + t->ops->latency_ns);
}

static void write_reg(struct cc_virtio_mmio *t, uint64_t off, uint32_t v,
		      uint64_t now)
{
	struct cc_virtq *q = selected(t);
	switch (off) {
	case R_DEV_FEATURES_SEL:
		t->s.dev_features_sel = v;
		return;
	case R_DRV_FEATURES:
		if (t->s.drv_features_sel <= 1 &&
		    !(t->s.status & CC_VIRTIO_S_FEATURES_OK)) {
			unsigned s = 32 * t->s.drv_features_sel;
			t->s.drv_features =
				(t->s.drv_features & ~(0xffffffffull << s)) |
				(uint64_t)v << s;
		}
		return;
	case R_DRV_FEATURES_SEL:
		t->s.drv_features_sel = v;
		return;
	case R_QUEUE_SEL:
		t->s.queue_sel = v;
		return;
	case R_QUEUE_NUM:
		if (q && !q->ready)
			q->num = v <= t->ops->queue_max ? (uint16_t)v : 0;
		return;
	case R_QUEUE_READY:
		if (q)
			queue_ready(t, q, v);
		return;
	case R_QUEUE_NOTIFY:
		notify(t, v, now);
		return;
	case R_ISR_ACK:
		t->s.isr &= ~v;
		update_irq(t);
		return;
	case R_STATUS:
		set_status(t, v);
		return;
	}
	if (!q)
		return;
	switch (off) {
	case R_DESC_LO:
	case R_DESC_HI:
		set_addr(t, &q->desc, off == R_DESC_HI, v);
		return;
	case R_AVAIL_LO:
	case R_AVAIL_HI:
		set_addr(t, &q->avail, off == R_AVAIL_HI, v);
		return;
	case R_USED_LO:
	case R_USED_HI:
		set_addr(t, &q->used, off == R_USED_HI, v);
		return;
	}
}

void cc_virtio_mmio_write(struct cc_virtio_mmio *t, uint64_t off,
			  const uint8_t *data, uint32_t len, uint64_t now)
{
	/* Our devices' config spaces are read-only; other writes must be
	 * aligned 32-bit register writes. */
	if (off >= R_CONFIG || len != 4 || (off & 3))
		return;
	uint32_t v;
	memcpy(&v, data, 4);
	write_reg(t, off, v, now);
}

void cc_virtio_mmio_kick(struct cc_virtio_mmio *t, unsigned q, uint64_t at)
{
	if (q < t->ops->nqueues && at < t->s.due[q])
		t->s.due[q] = at;
}

uint64_t cc_virtio_mmio_deadline(const struct cc_virtio_mmio *t)
{
	uint64_t d = CC_VIRTIO_NEVER;
	for (unsigned i = 0; i < t->ops->nqueues; i++)
		if (t->s.due[i] < d)
			d = t->s.due[i];
	return d;
}

void cc_virtio_mmio_poll(struct cc_virtio_mmio *t, uint64_t now)
{
	for (unsigned i = 0; i < t->ops->nqueues; i++) {
		if (t->s.due[i] > now)
			continue;
		t->s.due[i] = CC_VIRTIO_NEVER;
		if (!cc_virtio_mmio_live(t, i))
			continue;
		t->s.services++;
		t->ops->service(t, i, now);
	}
	update_irq(t);
}

const char *cc_virtio_mmio_state_check(const struct cc_virtio_mmio *t,
				       const struct cc_virtio_mmio_state *s)
{
	if (!memchr(s->last_error, 0, sizeof(s->last_error)))
		return "virtio last error without its terminating NUL";
	for (unsigned i = 0; i < CC_VIRTIO_MAX_QUEUES; i++) {
		const struct cc_virtq *q = &s->q[i];
		if (q->num > t->ops->queue_max || q->num > CC_VIRTQ_MAX_SIZE)
			return "virtqueue size out of range";
		if (q->ready > 1)
			return "virtqueue ready flag out of range";
		/* Rings were checked when the queue became ready; a restored
		 * state's are checked here. */
		const char *why = q->ready ? cc_virtq_check(q, t->mem) : NULL;
		if (why)
			return why;
		/* Only a live queue's size is used (cc_virtq_check at ready).
		 */
		if (q->ready && (i >= t->ops->nqueues || !q->num ||
				 (q->num & (q->num - 1))))
			return "ready virtqueue with an invalid size";
	}
	return NULL;
}

int cc_virtio_mmio_cmdline(char *buf, unsigned long size, uint64_t base,
			   unsigned irq)
{
	return snprintf(buf, size, "virtio_mmio.device=4K@0x%llx:%u",
			(unsigned long long)base, irq);
}
