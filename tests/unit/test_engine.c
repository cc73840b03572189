/*
 * FaultEngine without VMs: scheduled faults fire at the first tick
 * boundary at or after their time, in schedule order; gates on
 * setup_complete hold faults (all VMs, or the target VM) and release them
 * in order; random faults come from the seed, at the configured rate.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fault/engine.h"

#define MS 1000000ull

struct applied {
	size_t n;
	struct cc_fault f[4096];
};

static void apply(void *ctx, const struct cc_fault *f)
{
	struct applied *a = ctx;
	if (a->n < 4096)
		a->f[a->n] = *f;
	a->n++;
}

static struct cc_schedule three(void)
{
	struct cc_schedule s = {0};
	struct cc_fault f = {.kind = CC_FAULT_PACKET_LOSS, .ppm = 5};
	f.at_ns = 5 * MS;
	f.vm = 1;
	cc_schedule_add(&s, &f);
	f.at_ns = 2 * MS;
	f.vm = 0;
	cc_schedule_add(&s, &f);
	f.kind = CC_FAULT_NETWORK_HEAL;
	f.at_ns = 5 * MS;
	cc_schedule_add(&s, &f);
	return s;
}

Test(engine, schedule_fires_at_tick_boundaries_in_order)
{
	struct cc_fault_engine e;
	struct cc_engine_config c = {.nvms = 2};
	struct cc_schedule s = three();
	static struct applied a;
	memset(&a, 0, sizeof(a));
	cr_assert_eq(cc_engine_init(&e, &c, &s, 1), 0);
	cr_assert_eq(cc_engine_tick(&e, 1 * MS, apply, &a), 0);
	cr_assert_eq(cc_engine_tick(&e, 2 * MS, apply, &a), 1);
	cr_assert_eq(a.f[0].vm, 0);
	cr_assert_eq(cc_engine_tick(&e, 7 * MS, apply, &a), 2);
	cr_assert_eq(a.f[1].kind, CC_FAULT_PACKET_LOSS);
	cr_assert_eq(a.f[2].kind, CC_FAULT_NETWORK_HEAL);
	cr_assert_eq(e.nlog, 3);
	cr_assert_eq(e.log[2].fired_ns, 7 * MS);
	cc_engine_free(&e);
}

Test(engine, gates_hold_faults_until_setup_complete)
{
	struct cc_fault_engine e;
	struct cc_engine_config c = {.nvms = 2, .gate = CC_GATE_PER_VM};
	struct cc_schedule s = three();
	static struct applied a;
	memset(&a, 0, sizeof(a));
	cc_engine_init(&e, &c, &s, 1);
	cr_assert_eq(cc_engine_tick(&e, 10 * MS, apply, &a), 0, "all gated");
	cr_assert_eq(e.nheld, 3);
	cc_engine_setup_complete(&e, 1);
	cr_assert_eq(cc_engine_tick(&e, 11 * MS, apply, &a), 1,
		     "VM 1's own fault only");
	cr_assert_eq(a.f[0].vm, 1);
	cc_engine_setup_complete(&e, 0);
	cr_assert_eq(cc_engine_tick(&e, 12 * MS, apply, &a), 2);
	cr_assert_eq(a.f[1].vm, 0, "held faults keep schedule order");
	cr_assert_eq(a.f[2].kind, CC_FAULT_NETWORK_HEAL);
	cc_engine_free(&e);

	struct cc_engine_config all = {.nvms = 2, .gate = CC_GATE_ALL};
	s = three();
	memset(&a, 0, sizeof(a));
	cc_engine_init(&e, &all, &s, 1);
	cc_engine_setup_complete(&e, 1);
	cr_assert_eq(cc_engine_tick(&e, 10 * MS, apply, &a), 0,
		     "one VM is not all");
	cc_engine_setup_complete(&e, 0);
	cr_assert_eq(cc_engine_tick(&e, 11 * MS, apply, &a), 3);
	cc_engine_free(&e);

	/* any: one VM's setup_complete opens the gate for every fault. */
	struct cc_engine_config any = {.nvms = 2, .gate = CC_GATE_ANY};
	s = three();
	memset(&a, 0, sizeof(a));
	cc_engine_init(&e, &any, &s, 1);
	cr_assert_eq(cc_engine_tick(&e, 10 * MS, apply, &a), 0, "no VM yet");
	cc_engine_setup_complete(&e, 1);
	cr_assert_eq(cc_engine_tick(&e, 11 * MS, apply, &a), 3);
	cr_assert_eq(a.f[0].vm, 0, "held faults keep schedule order");
	cc_engine_free(&e);
}

static size_t random_run(uint64_t seed, struct applied *a)
{
	struct cc_fault_engine e;
	struct cc_engine_config c = {.nvms = 3, .rate_ppm = 100000};
	c.kinds[CC_FAULT_PACKET_LOSS] = c.kinds[CC_FAULT_PROCESS_PAUSE] =
		c.kinds[CC_FAULT_DISK_FULL] = true;
	memset(a, 0, sizeof(*a));
	cc_engine_init(&e, &c, NULL, seed);
	for (uint64_t t = 0; t < 10000; t++)
		cc_engine_tick(&e, t * MS, apply, a);
	cc_engine_free(&e);
	return a->n;
}

Test(engine, random_faults_follow_the_seed_and_the_rate)
{
	static struct applied a, b, c;
	size_t n = random_run(7, &a);
	/* 10000 ticks at 10 %: binomial mean 1000, sd 30. */
	cr_assert(fabs((double)n - 1000) < 180, "%zu random faults", n);
	cr_assert_eq(random_run(7, &b), n);
	cr_assert_eq(memcmp(a.f, b.f, sizeof(a.f[0]) * (n < 4096 ? n : 4096)),
		     0, "same seed, other faults");
	random_run(8, &c);
	cr_assert(c.n != n || memcmp(a.f, c.f, sizeof(a.f[0]) * 16),
		  "the seed does not reach the engine");
	for (size_t i = 0; i < n && i < 4096; i++) {
		cr_assert(a.f[i].kind == CC_FAULT_PACKET_LOSS ||
			  a.f[i].kind == CC_FAULT_PROCESS_PAUSE ||
			  a.f[i].kind == CC_FAULT_DISK_FULL);
		cr_assert_lt(a.f[i].vm, 3);
		cr_assert(a.f[i].ppm >= 10000 && a.f[i].ppm <= 500000);
	}
}
