/*
 * NetworkFabric without VMs: routing, every pipeline stage, statistical
 * bounds on the counters at configured ppm rates, the bandwidth formula,
 * and the property that the same seed gives the same deliveries.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "chaoscontrol/protocol.h"
#include "sim/fabric.h"

/* A frame from VM `from` to VM `to` (to = -1: broadcast), tagged. */
static uint32_t frame(uint8_t *f, int from, int to, uint32_t tag)
{
	static const uint8_t oui[5] = {0x52, 0x54, 0x00, 0x12, 0x34};
	memset(f, 0, 64);
	if (to < 0) {
		memset(f, 0xff, 6);
	} else {
		memcpy(f, oui, 5);
		f[5] = (uint8_t)to;
	}
	memcpy(f + 6, oui, 5);
	f[11] = (uint8_t)from;
	f[12] = 0x08;
	memcpy(f + 20, &tag, 4);
	return 64;
}

struct sink {
	size_t n;
	uint32_t to[4096], tag[4096];
	uint64_t at[4096];
	uint8_t byte30[4096];
	XXH64_hash_t hash;
	uint64_t now;
};

static void collect(void *ctx, const struct cc_net_message *m)
{
	struct sink *s = ctx;
	if (s->n < 4096) {
		s->to[s->n] = m->to;
		memcpy(&s->tag[s->n], m->data + 20, 4);
		s->at[s->n] = m->deliver_at_tick;
		s->byte30[s->n] = m->data[30];
	}
	s->n++;
	s->hash = XXH64(m, sizeof(*m), s->hash);
}

/* Sends n frames 0 -> 1 at tick 0, then delivers everything. */
static struct cc_net_stats blast(struct cc_fabric *f, unsigned n,
				 struct sink *s)
{
	uint8_t buf[64];
	for (unsigned i = 0; i < n; i++)
		cc_fabric_send(f, 0, buf, frame(buf, 0, 1, i), 0);
	cc_fabric_deliver(f, UINT64_MAX - 1, collect, s);
	return f->stats;
}

/* |count - n*p| within 6 standard deviations of a binomial. */
static void within(uint64_t count, unsigned n, double ppm, const char *what)
{
	double p = ppm / 1e6, mean = n * p, sd = sqrt(n * p * (1 - p));
	cr_assert(fabs((double)count - mean) <= 6 * sd + 1,
		  "%s: %llu, expected %.0f +- %.0f", what,
		  (unsigned long long)count, mean, 6 * sd);
}

Test(fabric, routes_by_mac_and_fans_out_broadcast)
{
	struct cc_fabric f;
	struct sink s = {0};
	uint8_t buf[64];
	cr_assert_eq(cc_fabric_init(&f, 3, 1), 0);
	cc_fabric_send(&f, 0, buf, frame(buf, 0, 2, 7), 5);
	cc_fabric_send(&f, 1, buf, frame(buf, 1, -1, 8), 5);
	cc_fabric_send(&f, 0, buf, frame(buf, 0, 9, 9), 5); /* no VM 9 */
	cr_assert_eq(cc_fabric_deliver(&f, 4, collect, &s), 0, "early");
	cr_assert_eq(cc_fabric_deliver(&f, 5, collect, &s), 3);
	cr_assert_eq(s.to[0], 2);
	cr_assert_eq(s.to[1], 0);
	cr_assert_eq(s.to[2], 2);
	cr_assert_eq(f.stats.unroutable, 1);
	cr_assert_eq(f.stats.copies, 3);
	cc_fabric_free(&f);
}

Test(fabric, partition_drops_until_heal_and_heal_keeps_latency)
{
	struct cc_fabric f;
	struct sink s = {0};
	uint8_t buf[64];
	cc_fabric_init(&f, 3, 1);
	f.link[1].latency_ticks = 4;
	f.link[1].loss_ppm = 1000000;
	uint32_t side[3] = {0, 1, 1};
	cc_fabric_partition(&f, side);
	cc_fabric_send(&f, 0, buf, frame(buf, 0, 1, 1), 0);
	cc_fabric_send(&f, 1, buf, frame(buf, 1, 2, 2), 0); /* same side */
	cr_assert_eq(f.stats.partitioned, 1);
	cr_assert_eq(f.stats.lost, 1, "1 -> 2 still loses everything");
	cc_fabric_heal(&f);
	cc_fabric_send(&f, 0, buf, frame(buf, 0, 1, 3), 10);
	cc_fabric_deliver(&f, 100, collect, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.at[0], 14, "latency survives the heal");
	cc_fabric_free(&f);
}

Test(fabric, loss_corruption_duplication_reorder_rates)
{
	struct cc_fabric f;
	static struct sink s;
	memset(&s, 0, sizeof(s));
	const unsigned n = 20000;
	cc_fabric_init(&f, 2, 42);
	f.link[0].loss_ppm = 300000;
	f.link[1].corrupt_ppm = 100000;
	f.link[0].dup_ppm = 50000;
	f.link[1].reorder_ppm = 200000;
	f.link[1].reorder_window = 5;
	f.max_in_flight = 1u << 20;
	struct cc_net_stats st = blast(&f, n, &s);
	within(st.lost, n, 300000, "lost");
	uint64_t kept = n - st.lost;
	within(st.corrupted, (unsigned)kept, 100000, "corrupted");
	within(st.duplicated, (unsigned)kept, 50000, "duplicated");
	within(st.reordered, (unsigned)kept, 200000, "reordered");
	cr_assert_eq(st.delivered, kept + st.duplicated);
	cc_fabric_free(&f);
}

Test(fabric, corruption_flips_one_byte_and_reorder_reorders)
{
	struct cc_fabric f;
	static struct sink s;
	memset(&s, 0, sizeof(s));
	cc_fabric_init(&f, 2, 3);
	f.link[1].corrupt_ppm = 1000000;
	f.link[1].reorder_ppm = 500000;
	f.link[1].reorder_window = 8;
	uint8_t buf[64], orig[64];
	int out_of_order = 0;
	for (unsigned i = 0; i < 200; i++) {
		frame(orig, 0, 1, i);
		memcpy(buf, orig, 64);
		cc_fabric_send(&f, 0, buf, 64, 0);
	}
	cc_fabric_deliver(&f, 100, collect, &s);
	cr_assert_eq(s.n, 200);
	cr_assert_eq(f.stats.corrupted, 200);
	for (size_t i = 1; i < s.n; i++)
		out_of_order += s.tag[i] < s.tag[i - 1];
	cr_assert_gt(out_of_order, 0, "nothing was reordered");
	for (size_t i = 0; i < s.n; i++)
		cr_assert(s.at[i] <= 8, "reorder beyond its window");
	cc_fabric_free(&f);
}

Test(fabric, latency_and_jitter_bounds)
{
	struct cc_fabric f;
	static struct sink s;
	memset(&s, 0, sizeof(s));
	cc_fabric_init(&f, 2, 9);
	f.link[0].latency_ticks = 3;
	f.link[1].latency_ticks = 10; /* the max of both ends */
	f.link[0].jitter_ticks = 4;
	blast(&f, 1000, &s);
	bool seen[5] = {0};
	for (size_t i = 0; i < s.n; i++) {
		cr_assert(s.at[i] >= 10 && s.at[i] <= 14, "%llu",
			  (unsigned long long)s.at[i]);
		seen[s.at[i] - 10] = true;
	}
	for (int j = 0; j <= 4; j++)
		cr_assert(seen[j], "jitter %d never drawn", j);
	cc_fabric_free(&f);
}

Test(fabric, bandwidth_serialises_with_next_free_tick)
{
	struct cc_fabric f;
	struct sink s = {0};
	cc_fabric_init(&f, 2, 1);
	f.link[0].bandwidth_bps = 1000000;
	f.link[1].bandwidth_bps = 5120; /* the smaller cap applies */
	uint8_t buf[64];
	/* 64 bytes = 512 bits: 512 * 1000 / 5120 = 100 ticks each. */
	for (int i = 0; i < 3; i++)
		cc_fabric_send(&f, 0, buf, frame(buf, 0, 1, (uint32_t)i), 0);
	cc_fabric_send(&f, 0, buf, frame(buf, 0, 1, 3), 1000);
	cc_fabric_deliver(&f, UINT64_MAX - 1, collect, &s);
	cr_assert_eq(s.at[0], 100);
	cr_assert_eq(s.at[1], 200);
	cr_assert_eq(s.at[2], 300);
	cr_assert_eq(s.at[3], 1100, "an idle link starts at the send tick");
	cc_fabric_free(&f);
}

static void impair(struct cc_fabric *f)
{
	for (unsigned i = 0; i < 3; i++) {
		f->link[i].loss_ppm = 100000;
		f->link[i].dup_ppm = 100000;
		f->link[i].jitter_ticks = 3;
		f->link[i].reorder_ppm = 100000;
		f->link[i].reorder_window = 4;
	}
}

/* Ticks [t0, t1) of a ring of sends 0 -> 1 -> 2 -> 0, delivered each tick. */
static void segment(struct cc_fabric *f, uint64_t t0, uint64_t t1,
		    struct sink *s)
{
	uint8_t buf[64];
	for (uint64_t t = t0; t < t1; t++) {
		cc_fabric_send(f, t % 3, buf,
			       frame(buf, (int)(t % 3), (int)((t + 1) % 3),
				     (uint32_t)t),
			       t);
		cc_fabric_deliver(f, t, collect, s);
	}
}

static XXH64_hash_t run(uint64_t seed)
{
	struct cc_fabric f;
	static struct sink s;
	memset(&s, 0, sizeof(s));
	cc_fabric_init(&f, 3, seed);
	impair(&f);
	segment(&f, 0, 300, &s);
	cc_fabric_deliver(&f, 1000, collect, &s);
	cc_fabric_free(&f);
	return s.hash;
}

Test(fabric, same_seed_same_deliveries)
{
	XXH64_hash_t a = run(5), b = run(5), c = run(6);
	cr_assert_eq(a, b);
	cr_assert_neq(a, c, "the seed does not reach the fabric");
}

Test(fabric, a_copy_continues_exactly_like_the_original)
{
	struct cc_fabric f, g;
	static struct sink s1, s2, junk;
	cc_fabric_init(&f, 3, 11);
	impair(&f);
	segment(&f, 0, 150, &junk);
	cr_assert_gt(f.n, 0, "nothing in flight at the copy");
	cr_assert_eq(cc_fabric_copy(&g, &f), 0);
	segment(&f, 150, 300, &s1);
	segment(&g, 150, 300, &s2);
	cr_assert_eq(s1.n, s2.n);
	cr_assert_eq(s1.hash, s2.hash);
	cc_fabric_free(&f);
	cc_fabric_free(&g);
}

struct order {
	uint64_t now, last_tick, last_seq, n;
	bool any, in_order, due;
};

static void check_order(void *ctx, const struct cc_net_message *m)
{
	struct order *o = ctx;
	if (o->any &&
	    (m->deliver_at_tick < o->last_tick ||
	     (m->deliver_at_tick == o->last_tick && m->seq <= o->last_seq)))
		o->in_order = false;
	if (m->deliver_at_tick > o->now)
		o->due = false;
	o->any = true;
	o->last_tick = m->deliver_at_tick;
	o->last_seq = m->seq;
	o->n++;
}

/* Thousands in flight at once, delivered in bursts: each burst hands
 * out exactly the messages due, in (tick, seq) order - the order the
 * fabric has always promised, whatever holds them. */
Test(fabric, bursts_come_out_due_and_in_order)
{
	struct cc_fabric f;
	cc_fabric_init(&f, 3, 17);
	impair(&f);
	for (unsigned i = 0; i < 3; i++)
		f.link[i].jitter_ticks = 500;
	uint8_t buf[64];
	for (uint32_t k = 0; k < 20000; k++)
		cc_fabric_send(&f, k % 3, buf,
			       frame(buf, (int)(k % 3), (int)((k + 1) % 3), k),
			       k / 50);
	cr_assert_gt(f.n, 10000, "%zu in flight", f.n);
	uint64_t total = 0, in_flight = f.n;
	for (uint64_t now = 0; f.n; now += 37) {
		struct order o = {.now = now, .in_order = true, .due = true};
		cc_fabric_deliver(&f, now, check_order, &o);
		cr_assert(o.in_order, "out of order at tick %llu",
			  (unsigned long long)now);
		cr_assert(o.due, "delivered early at tick %llu",
			  (unsigned long long)now);
		for (size_t i = 0; i < f.n; i++)
			cr_assert_gt(f.msg[i].deliver_at_tick, now,
				     "a due message stayed behind");
		total += o.n;
	}
	cr_assert_eq(total, in_flight);
	cr_assert_eq(f.stats.delivered, total);
	cc_fabric_free(&f);
}
