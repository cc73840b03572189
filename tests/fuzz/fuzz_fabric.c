/*
 * Fuzz target: the network fabric under the fault engine, as a cluster
 * drives them between its VMs: a schedule of faults of every kind (and
 * random ones at a rate, gated on set-up or not) fires through
 * cc_fabric_apply while frames of any size go between any VMs,
 * broadcast included, and each tick delivers what is due.
 *
 * Properties: nothing crashes; every burst comes out due and in (tick,
 * seq) order; the counters add up (each copy is partitioned, lost,
 * delivered, still in flight or dropped full, duplicates counted once
 * more); the same input gives the same deliveries, and so does a copy
 * of the fabric and engine taken mid-run (cluster snapshots).
 *
 * Input: {nvms, gate, rate, copy tick, kinds[4], seed[8]}, then 8-byte
 * records {op, a, b, c, d[4]}: a fault at a tick, a frame at a tick, a
 * VM's setup_complete at a tick.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fault/engine.h"
#include "chaoscontrol/protocol.h"
#include "sim/fabric.h"

#define MAX_TICKS  2000u
#define MAX_EVENTS 512u

struct event {
	uint32_t tick, op, a, b, len;
	uint8_t fill;
};

struct world {
	struct cc_fabric fabric;
	struct cc_fault_engine engine;
	size_t next; /* the first event not yet due */
};

struct sink {
	uint64_t now, last_tick, last_seq, n;
	XXH64_hash_t hash;
	bool any;
};

static void deliver(void *ctx, const struct cc_net_message *m)
{
	struct sink *s = ctx;
	if (m->deliver_at_tick > s->now)
		abort(); /* delivered early */
	if (s->any &&
	    (m->deliver_at_tick < s->last_tick ||
	     (m->deliver_at_tick == s->last_tick && m->seq <= s->last_seq)))
		abort(); /* out of order */
	s->any = true;
	s->last_tick = m->deliver_at_tick;
	s->last_seq = m->seq;
	s->n++;
	s->hash = XXH64(m, sizeof(*m), s->hash);
}

static void apply(void *ctx, const struct cc_fault *f)
{
	struct world *w = ctx;
	cc_fabric_apply(&w->fabric, f); /* VM faults: not the fabric's */
}

/* What is due at tick t: events, faults, deliveries. */
static void step(struct world *w, const struct event *ev, size_t nev,
		 uint32_t t, struct sink *s)
{
	for (; w->next < nev && ev[w->next].tick == t; w->next++) {
		const struct event *e = &ev[w->next];
		if (e->op == 1) {
			static uint8_t frame[CC_NET_FRAME_MAX];
			unsigned from = e->a % w->fabric.nvms;
			memset(frame, e->fill, e->len);
			if (e->b & 0x80) {
				memset(frame, 0xff, 6);
			} else {
				memcpy(frame,
				       w->fabric.mac[e->b % w->fabric.nvms], 6);
			}
			memcpy(frame + 6, w->fabric.mac[from], 6);
			cc_fabric_send(&w->fabric, from, frame, e->len, t);
		} else if (e->op == 2) {
			cc_engine_setup_complete(&w->engine,
						 e->a % w->fabric.nvms);
		}
	}
	cc_engine_tick(&w->engine, (uint64_t)t * CC_NS_PER_TICK, apply, w);
	s->now = t;
	s->any = false;
	cc_fabric_deliver(&w->fabric, t, deliver, s);
}

static void accounts(const struct cc_fabric *f)
{
	const struct cc_net_stats *st = &f->stats;
	uint64_t in = st->copies - st->partitioned - st->lost + st->duplicated;
	uint64_t out = st->delivered + f->n;
	if (in < out || in > out + st->dropped_full || f->n > f->max_in_flight)
		abort(); /* the counters do not add up */
}

/* Parses the input into a world and its events; false: too short. */
static bool setup(struct world *w, struct event *ev, size_t *nev,
		  uint32_t *copy_at, uint32_t *end, const uint8_t *d, size_t n)
{
	if (n < 16)
		return false;
	unsigned nvms = 2 + d[0] % 7;
	struct cc_engine_config c = {.nvms = nvms,
				     .gate = (enum cc_gate)(d[1] % 4),
				     .rate_ppm = (uint32_t)d[2] * 2000};
	uint32_t kinds;
	memcpy(&kinds, d + 4, 4);
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		c.kinds[k] = kinds >> (k % 32) & 1;
	uint64_t seed;
	memcpy(&seed, d + 8, 8);
	struct cc_schedule sched = {0};
	struct cc_entropy rng;
	cc_entropy_init(&rng, seed ^ 0x5eed);
	*nev = 0;
	*end = 1;
	for (size_t i = 16; i + 8 <= n && *nev < MAX_EVENTS; i += 8) {
		const uint8_t *r = d + i;
		uint32_t t = (uint32_t)(r[2] | r[3] << 8) % MAX_TICKS;
		*end = t + 1 > *end ? t + 1 : *end;
		if (r[0] % 3 == 0) {
			struct cc_fault f = {0};
			f.kind = (enum cc_fault_kind)(r[1] % CC_FAULT__COUNT);
			cc_fault_random_params(&rng, nvms, &f);
			f.at_ns = (uint64_t)t * CC_NS_PER_TICK;
			if (cc_schedule_add(&sched, &f))
				abort();
			continue;
		}
		struct event *e = &ev[(*nev)++];
		e->tick = t;
		e->op = r[0] % 3;
		e->a = r[1];
		e->b = r[4];
		e->len = CC_NET_FRAME_MIN +
			 (uint32_t)(r[5] | r[6] << 8) %
				 (CC_NET_FRAME_MAX - CC_NET_FRAME_MIN + 1);
		e->fill = r[7];
	}
	for (size_t i = 1; i < *nev; i++) /* by tick, stably */
		for (size_t j = i; j > 0 && ev[j - 1].tick > ev[j].tick; j--) {
			struct event x = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = x;
		}
	*copy_at = d[3] % *end;
	w->next = 0;
	if (cc_fabric_init(&w->fabric, nvms, seed) ||
	    cc_engine_init(&w->engine, &c, &sched, seed))
		abort();
	return true;
}

/* The whole run: its deliveries' hash; with `fork`, a copy taken at the
 * copy tick runs the rest too and must deliver the same. */
static XXH64_hash_t run(const uint8_t *d, size_t n, bool fork)
{
	static struct event ev[MAX_EVENTS];
	static struct world w, copy;
	size_t nev;
	uint32_t copy_at, end;
	if (!setup(&w, ev, &nev, &copy_at, &end, d, n))
		return 0;
	struct sink s = {0}, c = {0};
	uint32_t t = 0;
	for (; t < copy_at; t++)
		step(&w, ev, nev, t, &s);
	if (fork && (cc_fabric_copy(&copy.fabric, &w.fabric) ||
		     cc_engine_copy(&copy.engine, &w.engine)))
		abort();
	c = s;
	copy.next = w.next;
	for (uint32_t u = t; u < end + 30; u++)
		step(&w, ev, nev, u, &s);
	accounts(&w.fabric);
	if (fork) {
		for (uint32_t u = t; u < end + 30; u++)
			step(&copy, ev, nev, u, &c);
		if (c.hash != s.hash || c.n != s.n)
			abort(); /* a copy went another way */
		cc_fabric_free(&copy.fabric);
		cc_engine_free(&copy.engine);
	}
	cc_fabric_free(&w.fabric);
	cc_engine_free(&w.engine);
	return s.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (run(data, size, true) != run(data, size, false))
		abort(); /* the same input, two executions */
	return 0;
}
