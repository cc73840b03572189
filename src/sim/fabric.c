#include "fabric.h"

#include <stdlib.h>
#include <string.h>

#include "../base/array.h"
#include "chaoscontrol/protocol.h"

#define MAX_IN_FLIGHT 65536u

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int cc_fabric_init(struct cc_fabric *f, unsigned nvms, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	if (nvms == 0 || nvms > CC_FABRIC_MAX_VMS)
		return -1;
	f->nvms = nvms;
	f->max_in_flight = MAX_IN_FLIGHT;
	for (unsigned i = 0; i < nvms; i++) {
		static const uint8_t oui[5] = {0x52, 0x54, 0x00, 0x12, 0x34};
		memcpy(f->mac[i], oui, 5);
		f->mac[i][5] = (uint8_t)i;
	}
	cc_entropy_init(&f->rng, seed + CC_DOMAIN_NETFAB);
	return 0;
}

void cc_fabric_reseed(struct cc_fabric *f, uint64_t seed)
{
	cc_entropy_init(&f->rng, seed + CC_DOMAIN_NETFAB);
}

void cc_fabric_free(struct cc_fabric *f)
{
	free(f->msg);
	f->msg = NULL;
	f->n = f->cap = 0;
}

static bool chance(struct cc_fabric *f, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (ppm >= CC_PPM_ONE)
		return true;
	return cc_entropy_u64(&f->rng) % CC_PPM_ONE < ppm;
}

/* Uniform in [0, n]. */
static uint64_t upto(struct cc_fabric *f, uint64_t n)
{
	return n ? cc_entropy_u64(&f->rng) % (n + 1) : 0;
}

static bool before(const struct cc_net_message *a,
		   const struct cc_net_message *b)
{
	return a->deliver_at_tick < b->deliver_at_tick ||
	       (a->deliver_at_tick == b->deliver_at_tick && a->seq < b->seq);
}

/* The in-flight messages are a binary min-heap on (tick, seq): seq is
 * unique, so the order is total and the heap's shape never decides
 * which message goes first.  A send and a delivery cost O(log n), where
 * a scan for the minimum made a burst of n deliveries O(n^2). */
static void swap(struct cc_net_message *a, struct cc_net_message *b)
{
	struct cc_net_message t = *a;
	*a = *b;
	*b = t;
}

static void sift_up(struct cc_net_message *h, size_t i)
{
	while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
		swap(&h[i], &h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct cc_net_message *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (r < n && before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		swap(&h[i], &h[m]);
		i = m;
	}
}

static void dropped(struct cc_fabric *f, unsigned from, unsigned to,
		    const uint8_t *frame, uint32_t len, const char *stage)
{
	if (f->on_drop)
		f->on_drop(f->drop_ctx, from, to, frame, len, stage);
}

static int push(struct cc_fabric *f, const struct cc_net_message *m)
{
	if (f->n == f->max_in_flight ||
	    cc_array_grow(&f->msg, &f->cap, f->n, sizeof(*f->msg), 64)) {
		f->stats.dropped_full++;
		dropped(f, m->from, m->to, m->data, m->len, "full");
		return -1;
	}
	f->msg[f->n] = *m;
	sift_up(f->msg, f->n++);
	return 0;
}

/* Stage 3: the sender's link is busy until next_free_tick. */
static uint64_t bandwidth(struct cc_fabric *f, struct cc_link *s,
			  const struct cc_link *r, uint32_t len, uint64_t now)
{
	uint64_t bps = s->bandwidth_bps;
	if (!bps || (r->bandwidth_bps && r->bandwidth_bps < bps))
		bps = r->bandwidth_bps;
	if (!bps)
		return now;
	uint64_t ticks = ((uint64_t)len * 8 * 1000 + bps - 1) / bps;
	uint64_t start = max64(now, s->next_free_tick);
	s->next_free_tick = start + ticks;
	f->stats.delayed_bandwidth++;
	return s->next_free_tick;
}

/* One copy, from -> to, through stages 1-7. */
static void pipeline(struct cc_fabric *f, unsigned from, unsigned to,
		     const uint8_t *frame, uint32_t len, uint64_t now)
{
	struct cc_link *s = &f->link[from], *r = &f->link[to];
	f->stats.copies++;
	if (s->side != r->side) {
		f->stats.partitioned++;
		dropped(f, from, to, frame, len, "partition");
		return;
	}
	if (chance(f, max32(s->loss_ppm, r->loss_ppm))) {
		f->stats.lost++;
		dropped(f, from, to, frame, len, "loss");
		return;
	}
	struct cc_net_message m;
	memset(&m, 0, sizeof(m)); /* no stale bytes past len, in snapshots */
	m.from = from;
	m.to = to;
	m.len = (uint16_t)len;
	memcpy(m.data, frame, len);
	uint64_t t = bandwidth(f, s, r, len, now);
	if (chance(f, max32(s->corrupt_ppm, r->corrupt_ppm))) {
		uint64_t x = cc_entropy_u64(&f->rng);
		m.data[x % len] ^= (uint8_t)(x >> 32) | 1;
		f->stats.corrupted++;
	}
	uint64_t jitter = upto(f, max64(s->jitter_ticks, r->jitter_ticks));
	f->stats.jittered += jitter != 0;
	t += max64(s->latency_ticks, r->latency_ticks) + jitter;
	if (chance(f, max32(s->reorder_ppm, r->reorder_ppm))) {
		uint64_t w = max64(s->reorder_window, r->reorder_window);
		t += 1 + (w > 1 ? upto(f, w - 1) : 0);
		f->stats.reordered++;
	}
	m.deliver_at_tick = t;
	m.seq = f->seq++;
	if (push(f, &m))
		return;
	if (chance(f, max32(s->dup_ppm, r->dup_ppm))) {
		m.deliver_at_tick = t + upto(f, 2);
		m.seq = f->seq++;
		if (!push(f, &m))
			f->stats.duplicated++;
	}
}

int cc_fabric_send(struct cc_fabric *f, unsigned from, const uint8_t *frame,
		   uint32_t len, uint64_t now)
{
	if (from >= f->nvms || len < CC_NET_FRAME_MIN || len > CC_NET_FRAME_MAX)
		return -1;
	f->stats.sent++;
	size_t before = f->stats.dropped_full;
	if (frame[0] & 1) { /* broadcast or multicast: everyone else */
		for (unsigned to = 0; to < f->nvms; to++)
			if (to != from)
				pipeline(f, from, to, frame, len, now);
	} else {
		unsigned to = 0;
		while (to < f->nvms && memcmp(frame, f->mac[to], 6))
			to++;
		if (to == f->nvms || to == from) {
			f->stats.unroutable++;
			dropped(f, from, f->nvms, frame, len, "unroutable");
		} else
			pipeline(f, from, to, frame, len, now);
	}
	return f->stats.dropped_full == before ? 0 : -1;
}

size_t cc_fabric_deliver(struct cc_fabric *f, uint64_t now,
			 void (*deliver)(void *ctx,
					 const struct cc_net_message *m),
			 void *ctx)
{
	size_t count = 0;
	while (f->n && f->msg[0].deliver_at_tick <= now) {
		struct cc_net_message m = f->msg[0];
		f->msg[0] = f->msg[--f->n];
		sift_down(f->msg, f->n, 0);
		f->stats.delivered++;
		deliver(ctx, &m);
		count++;
	}
	return count;
}

void cc_fabric_partition(struct cc_fabric *f, const uint32_t *side)
{
	for (unsigned i = 0; i < f->nvms; i++)
		f->link[i].side = side[i];
}

void cc_fabric_heal(struct cc_fabric *f)
{
	for (unsigned i = 0; i < f->nvms; i++) {
		struct cc_link *l = &f->link[i];
		uint64_t latency = l->latency_ticks, busy = l->next_free_tick;
		memset(l, 0, sizeof(*l));
		l->latency_ticks = latency;
		l->next_free_tick = busy; /* frames already queued still are */
	}
}

int cc_fabric_copy(struct cc_fabric *dst, const struct cc_fabric *src)
{
	*dst = *src;
	dst->msg = NULL;
	dst->cap = 0;
	if (!src->n)
		return 0;
	dst->msg = malloc(src->n * sizeof(*dst->msg));
	if (!dst->msg)
		return -1;
	memcpy(dst->msg, src->msg, src->n * sizeof(*dst->msg));
	dst->cap = src->n;
	return 0;
}

void cc_net_stats_add(struct cc_net_stats *acc, const struct cc_net_stats *end,
		      const struct cc_net_stats *start)
{
#define ADD(f) acc->f += end->f - start->f
	ADD(sent);
	ADD(copies);
	ADD(delivered);
	ADD(unroutable);
	ADD(partitioned);
	ADD(lost);
	ADD(corrupted);
	ADD(delayed_bandwidth);
	ADD(jittered);
	ADD(reordered);
	ADD(duplicated);
	ADD(dropped_full);
#undef ADD
}

bool cc_fabric_apply(struct cc_fabric *f, const struct cc_fault *fault)
{
	if (fault->kind == CC_FAULT_NETWORK_PARTITION) {
		cc_fabric_partition(f, fault->sides);
		return true;
	}
	if (fault->kind == CC_FAULT_NETWORK_HEAL) {
		cc_fabric_heal(f);
		return true;
	}
	if (fault->kind < CC_FAULT_NETWORK_LATENCY ||
	    fault->kind > CC_FAULT_PACKET_DUPLICATE)
		return false;
	if (fault->vm >= f->nvms)
		return true; /* schedules are checked on load; be safe anyway */
	struct cc_link *l = &f->link[fault->vm];
	switch (fault->kind) {
	case CC_FAULT_NETWORK_LATENCY:
		l->latency_ticks = fault->ticks;
		break;
	case CC_FAULT_NETWORK_JITTER:
		l->jitter_ticks = fault->ticks;
		break;
	case CC_FAULT_NETWORK_BANDWIDTH:
		l->bandwidth_bps = fault->bps;
		break;
	case CC_FAULT_PACKET_LOSS:
		l->loss_ppm = fault->ppm;
		break;
	case CC_FAULT_PACKET_CORRUPTION:
		l->corrupt_ppm = fault->ppm;
		break;
	case CC_FAULT_PACKET_REORDER:
		l->reorder_ppm = fault->ppm;
		l->reorder_window = fault->ticks;
		break;
	default: /* CC_FAULT_PACKET_DUPLICATE */
		l->dup_ppm = fault->ppm;
		break;
	}
	return true;
}
