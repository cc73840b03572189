#include "virtio_net.h"

#include <string.h>

#include "chaoscontrol/protocol.h"

#define Q_RX  0
#define Q_TX  1
#define F_MAC (1ull << 5)
/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers - 12 bytes, all zero for us. */
#define HDR_LEN 12u
/* Virtual time from a kick to the device serving it: a 10 GbE NIC's
 * order of magnitude. */
#define LATENCY_NS 5000ull

static struct cc_net_frame *fifo_tail(struct cc_net_fifo *q)
{
	return q->count == CC_NET_QUEUE
		       ? NULL
		       : &q->f[(q->head + q->count) % CC_NET_QUEUE];
}

static struct cc_net_frame *fifo_head(struct cc_net_fifo *q)
{
	return q->count ? &q->f[q->head] : NULL;
}

static void fifo_pop(struct cc_net_fifo *q)
{
	q->head = (q->head + 1) % CC_NET_QUEUE;
	q->count--;
}

static void config_read(struct cc_virtio_mmio *t, uint32_t off, uint8_t *buf,
			uint32_t len)
{
	struct cc_virtio_net *n = (struct cc_virtio_net *)t;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = off + i < 6 ? n->mac[off + i] : 0;
}

/* Transmit: each chain is header + frame, readable only. */
static bool serve_tx(struct cc_virtio_net *n, uint64_t now)
{
	struct cc_virtio_mmio *t = &n->t;
	for (;;) {
		struct cc_net_frame *f = fifo_tail(&n->port.tx);
		if (!f)
			return true; /* back-pressure: the host takes, then
					kicks */
		const char *why = NULL;
		int k = cc_virtq_pop(&t->s.q[Q_TX], t->mem, &n->chain, &why);
		if (k == 0)
			return true;
		if (k < 0) {
			cc_virtio_mmio_fail(t, why);
			return false;
		}
		uint32_t len = n->chain.in_len;
		if (len < HDR_LEN + CC_NET_FRAME_MIN ||
		    len > HDR_LEN + CC_NET_FRAME_MAX) {
			n->port.tx_dropped++; /* no such frame on a wire */
		} else {
			f->len = (uint16_t)(len - HDR_LEN);
			f->at = now;
			cc_virtq_read(&n->chain, t->mem, HDR_LEN, f->data,
				      f->len);
			n->port.tx.count++;
			n->port.tx_frames++;
		}
		if (!cc_virtq_push(&t->s.q[Q_TX], t->mem, n->chain.head, 0)) {
			cc_virtio_mmio_fail(t, "used ring outside guest RAM");
			return false;
		}
		cc_virtio_mmio_used(t, Q_TX);
	}
}

/* Receive: the backlog's frames go into posted buffers, one per chain. */
static bool serve_rx(struct cc_virtio_net *n)
{
	struct cc_virtio_mmio *t = &n->t;
	static const uint8_t hdr[HDR_LEN] = {[10] = 1}; /* num_buffers = 1 */
	for (struct cc_net_frame *f; (f = fifo_head(&n->port.rx));) {
		const char *why = NULL;
		int k = cc_virtq_pop(&t->s.q[Q_RX], t->mem, &n->chain, &why);
		if (k == 0)
			return true; /* no buffers: wait for the next kick */
		if (k < 0) {
			cc_virtio_mmio_fail(t, why);
			return false;
		}
		uint32_t w = 0;
		if (n->chain.out_len >= HDR_LEN + f->len) {
			w = cc_virtq_write(&n->chain, t->mem, 0, hdr, HDR_LEN);
			w += cc_virtq_write(&n->chain, t->mem, HDR_LEN, f->data,
					    f->len);
			n->port.rx_frames++;
		} else {
			n->port.rx_dropped++; /* buffer too small for it */
		}
		fifo_pop(&n->port.rx);
		if (!cc_virtq_push(&t->s.q[Q_RX], t->mem, n->chain.head, w)) {
			cc_virtio_mmio_fail(t, "used ring outside guest RAM");
			return false;
		}
		cc_virtio_mmio_used(t, Q_RX);
	}
	return true;
}

static bool service(struct cc_virtio_mmio *t, unsigned q, uint64_t now)
{
	struct cc_virtio_net *n = (struct cc_virtio_net *)t;
	return q == Q_TX ? serve_tx(n, now) : serve_rx(n);
}

static void reset(struct cc_virtio_mmio *t)
{
	/* Frames in flight die with the driver, as on a real NIC reset. */
	struct cc_virtio_net *n = (struct cc_virtio_net *)t;
	n->port.rx.head = n->port.rx.count = 0;
}

static const struct cc_virtio_ops net_ops = {
	.name = "virtio-net",
	.device_id = 1,
	.features = CC_VIRTIO_F_VERSION_1 | F_MAC,
	.nqueues = 2,
	.queue_max = 256,
	.config_len = 0x10,
	.latency_ns = LATENCY_NS,
	.config_read = config_read,
	.service = service,
	.reset = reset,
};

void cc_virtio_net_init(struct cc_virtio_net *n, struct cc_mem *mem,
			struct cc_irq_line irq, unsigned vm_index)
{
	memset(n, 0, sizeof(*n));
	cc_virtio_mmio_init(&n->t, &net_ops, mem, irq, CC_VIRTIO_NET_GPA);
	static const uint8_t oui[5] = {0x52, 0x54, 0x00, 0x12, 0x34};
	memcpy(n->mac, oui, 5);
	n->mac[5] = (uint8_t)vm_index;
}

static const char *fifo_check(const struct cc_net_fifo *q)
{
	if (q->head >= CC_NET_QUEUE || q->count > CC_NET_QUEUE)
		return "network frame queue indices out of range";
	for (uint32_t i = 0; i < q->count; i++)
		if (q->f[(q->head + i) % CC_NET_QUEUE].len > CC_NET_FRAME_MAX)
			return "network frame longer than the maximum";
	return NULL;
}

const char *cc_net_port_check(const struct cc_net_port *p)
{
	const char *why = fifo_check(&p->tx);
	return why ? why : fifo_check(&p->rx);
}

bool cc_net_port_take(struct cc_virtio_net *n, struct cc_net_frame *out,
		      uint64_t now)
{
	struct cc_net_frame *f = fifo_head(&n->port.tx);
	if (!f)
		return false;
	*out = *f;
	bool was_full = n->port.tx.count == CC_NET_QUEUE;
	fifo_pop(&n->port.tx);
	if (was_full)
		cc_virtio_mmio_kick(&n->t, Q_TX, now);
	return true;
}

bool cc_net_port_deliver(struct cc_virtio_net *n, const void *frame,
			 uint32_t len, uint64_t now)
{
	struct cc_net_frame *f = fifo_tail(&n->port.rx);
	if (!f || len < CC_NET_FRAME_MIN || len > CC_NET_FRAME_MAX) {
		n->port.rx_dropped++;
		return false;
	}
	f->at = now;
	f->len = (uint16_t)len;
	memcpy(f->data, frame, len);
	n->port.rx.count++;
	cc_virtio_mmio_kick(&n->t, Q_RX, now);
	return true;
}
