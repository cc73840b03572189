/*
 * The explorer's pure parts: schedule mutations (deterministic for a
 * seed, every template inside its horizon and cap, in time order, each
 * operator reached) and reproducer files (round trip byte for byte,
 * every kind of bad file refused with a message naming what is wrong),
 * and how a round's branches are given to workers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "explore/explorer.h"
#include "explore/output.h"
#include "explore/mutate.h"
#include "fault/schedule.h"
#include "run/reproducer.h"

/* Criterion reports every assertion to its runner, passing ones too:
 * loops check with this, which only calls it on a failure. */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			cr_assert(cond, __VA_ARGS__);                          \
	} while (0)

static struct cc_mut_config config(void)
{
	struct cc_mut_config c = {
		.nvms = 3,
		.horizon_ns = 500 * CC_NS_PER_TICK,
		.max_faults = 6,
	};
	c.kinds[CC_FAULT_NETWORK_PARTITION] = true;
	c.kinds[CC_FAULT_NETWORK_HEAL] = true;
	c.kinds[CC_FAULT_PROCESS_RESTART] = true;
	c.kinds[CC_FAULT_CLOCK_JUMP] = true;
	return c;
}

/* 2000 mutations of a growing lineage: the same with one seed, and
 * every result within the rules. */
static uint64_t lineage(uint64_t seed, unsigned *seen_ops)
{
	struct cc_mut_config c = config();
	struct cc_entropy rng;
	cc_entropy_init(&rng, seed);
	struct cc_tmpl t = {0}, other = {0}, out;
	uint64_t h = 1469598103934665603ull;
	for (int k = 0; k < 2000; k++) {
		bool reseed;
		enum cc_mut_op op =
			cc_mutate(&c, &rng, &t, &other, &out, &reseed);
		CHECK(op < CC_MUT_RANDOM, "op %d", op);
		seen_ops[op]++;
		CHECK(reseed == (op == CC_MUT_FORK), "reseed");
		CHECK(out.n <= c.max_faults, "%zu faults", out.n);
		for (size_t i = 0; i < out.n; i++) {
			CHECK(out.f[i].at_ns < c.horizon_ns, "late");
			CHECK(out.f[i].at_ns % CC_NS_PER_TICK == 0,
			      "not a tick");
			CHECK(c.kinds[out.f[i].kind], "kind %d", out.f[i].kind);
			CHECK(out.f[i].vm < c.nvms, "vm");
			if (i)
				CHECK(out.f[i].at_ns >= out.f[i - 1].at_ns,
				      "order");
			h = (h ^ out.f[i].at_ns ^ out.f[i].kind) *
			    1099511628211ull;
		}
		h = (h ^ op) * 1099511628211ull;
		other = t;
		t = out;
	}
	return h;
}

Test(mutate, is_deterministic_and_keeps_every_rule)
{
	unsigned a[CC_MUT__COUNT] = {0}, b[CC_MUT__COUNT] = {0};
	unsigned c[CC_MUT__COUNT] = {0};
	cr_assert_eq(lineage(7, a), lineage(7, b));
	cr_assert_neq(lineage(7, a), lineage(8, c));
	for (int op = 0; op < CC_MUT_RANDOM; op++)
		cr_assert_gt(a[op], 0, "operator %s never applied",
			     cc_mut_name(op));
}

Test(mutate, random_schedules_fill_the_horizon_from_the_swarm)
{
	struct cc_mut_config c = config();
	struct cc_entropy rng;
	cc_entropy_init(&rng, 3);
	unsigned kinds[CC_FAULT__COUNT] = {0}, late = 0;
	for (int k = 0; k < 500; k++) {
		struct cc_tmpl t;
		cc_mut_random(&c, &rng, &t);
		CHECK(t.n >= 1 && t.n <= c.max_faults, "%zu faults", t.n);
		for (size_t i = 0; i < t.n; i++) {
			kinds[t.f[i].kind]++;
			late += t.f[i].at_ns >= c.horizon_ns / 2;
		}
	}
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		cr_assert_eq(kinds[k] > 0, c.kinds[k], "kind %s",
			     cc_fault_name(k));
	cr_assert_gt(late, 100);
}

Test(mutate, no_kinds_means_no_new_faults)
{
	struct cc_mut_config c = config();
	memset(c.kinds, 0, sizeof(c.kinds));
	struct cc_entropy rng;
	cc_entropy_init(&rng, 1);
	struct cc_tmpl t = {0}, out;
	for (int k = 0; k < 200; k++) {
		bool reseed;
		cc_mutate(&c, &rng, &t, NULL, &out, &reseed);
		CHECK(out.n == 0, "a fault from no kinds");
	}
	cc_mut_random(&c, &rng, &out);
	cr_assert_eq(out.n, 0);
}

/* --- giving a round's branches to workers -------------------------------- */

/* An entry whose snapshot worker `owner` holds (owner < 0: none kept),
 * `depth` forks from the root.  The snapshot is never dereferenced: the
 * assignment only asks whether there is one. */
static char token;
static struct cc_entry entry(uint64_t id, uint64_t parent, size_t depth,
			     int owner)
{
	struct cc_entry e = {.id = id, .parent = parent};
	e.path.n = depth;
	if (owner >= 0) {
		e.snap = (struct cc_sim_snapshot *)&token;
		e.owner = (unsigned)owner;
	}
	return e;
}

static unsigned assigned[8];
static void assign(struct cc_explorer *x, const size_t *entries, unsigned n)
{
	struct cc_plan p[8];
	for (unsigned k = 0; k < n; k++)
		p[k] = (struct cc_plan){.entry = entries[k], .worker = 99};
	cc_workers_assign(x, p, n);
	for (unsigned k = 0; k < n; k++)
		assigned[k] = p[k].worker;
}

/* The cost model: one per branch on the worker holding the entry's
 * snapshot, one more per fork re-run elsewhere; least finishing load
 * first, the lower worker on a tie. */
Test(workers, go_where_the_snapshot_is_unless_rebuilding_finishes_sooner)
{
	static struct cc_explorer x;
	struct cc_entry e[] = {
		entry(0, 0, 0, 0),  /* the root: every worker has it */
		entry(1, 0, 1, 1),  /* held by worker 1 */
		entry(2, 0, 1, 0),  /* held by worker 0 */
		entry(3, 1, 2, -1), /* evicted; its parent is worker 1's */
	};
	x.e = e;
	x.n = 4;
	x.nworkers = 2;
	const size_t plans[] = {1, 1, 2, 0, 3};
	assign(&x, plans, 5);
	/* 1 -> w1 (1 against 2); 1 again: w0 rebuilds it (2 against 2);
	 * 2 -> w0 (3, a tie with w1's rebuild); the root -> w1 (2);
	 * 3 -> w1, one fork from its parent there (4 against 6). */
	const unsigned want[] = {1, 0, 0, 1, 1};
	for (unsigned k = 0; k < 5; k++)
		cr_assert_eq(assigned[k], want[k], "plan %u: worker %u", k,
			     assigned[k]);
	/* From the root only, they alternate. */
	const size_t roots[] = {0, 0, 0, 0, 0, 0};
	assign(&x, roots, 6);
	for (unsigned k = 0; k < 6; k++)
		cr_assert_eq(assigned[k], k % 2);
	/* One worker takes everything. */
	x.nworkers = 1;
	assign(&x, plans, 5);
	for (unsigned k = 0; k < 5; k++)
		cr_assert_eq(assigned[k], 0);
}

/* A crash whose VM ended killed, a partition seen with every VM's status,
 * a fault past the branch's end not at all; names round-trip. */
Test(workers, fault_status_combinations_name_how_a_branch_ended)
{
	struct cc_plan p = {0};
	struct cc_fault *f = p.fork.fault;
	f[0] = (struct cc_fault){.at_ns = 10 * CC_NS_PER_TICK,
				 .kind = CC_FAULT_PROCESS_CRASH,
				 .vm = 1};
	f[1] = (struct cc_fault){.at_ns = 20 * CC_NS_PER_TICK,
				 .kind = CC_FAULT_NETWORK_PARTITION};
	f[2] = (struct cc_fault){.at_ns = 900 * CC_NS_PER_TICK,
				 .kind = CC_FAULT_PROCESS_PAUSE};
	p.fork.nfaults = 3;
	struct cc_branch_result r = {.ticks = 500, .nvms = 3};
	r.status[0] = CC_VM_RUNNING;
	r.status[1] = CC_VM_KILLED;
	r.status[2] = CC_VM_PAUSED;
	struct cc_combos c, back, none = {{0}};
	cc_branch_combos(&p, &r, &c);
	cr_assert_eq(cc_combos_new(&c, &none), 4);
	json_t *a = cc_combos_json(&c);
	char *text = json_dumps(a, JSON_COMPACT);
	cr_assert_str_eq(text,
			 "[\"network_partition/running\",\"network_partition/"
			 "paused\",\"network_partition/killed\","
			 "\"process_crash/killed\"]");
	struct cc_err e;
	cr_assert_eq(cc_combos_parse(a, &back, &e), 0, "%s", e.msg);
	cr_assert_eq(memcmp(&back, &c, sizeof(c)), 0);
	cr_assert_eq(cc_combos_new(&c, &back), 0);
	json_array_append_new(a, json_string("process_crash/asleep"));
	cr_assert_eq(cc_combos_parse(a, &back, &e), -1);
	cr_assert(strstr(e.msg, "process_crash/asleep"), "%s", e.msg);
	free(text);
	json_decref(a);
}

/* --- reproducers --------------------------------------------------------- */

static void sample(struct cc_repro *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->scenario, sizeof(r->scenario), "/x/raft.json");
	r->scenario_hash = 0x9f0c112233445566ull;
	r->nodes = 3;
	r->seed = 0xffffffffffffffffull;
	r->until = 1412;
	r->stall_ticks = 400;
	r->stop_at_bug = true;
	struct cc_fork f = {.at = 412, .reseed = true, .seed = 0x5d1c};
	f.fault[f.nfaults++] = (struct cc_fault){.at_ns = 430 * CC_NS_PER_TICK,
						 .kind = CC_FAULT_NETWORK_HEAL};
	struct cc_fault p = {.at_ns = 500 * CC_NS_PER_TICK,
			     .kind = CC_FAULT_NETWORK_PARTITION,
			     .nsides = 3,
			     .sides = {0, 1, 1}};
	cr_assert_eq(cc_fault_canon(&p, 3), 0);
	f.fault[f.nfaults++] = p;
	f.choice[f.nchoices++] = (struct cc_fork_choice){2, 1, 0};
	f.choice[f.nchoices++] =
		(struct cc_fork_choice){0, 3, 0xfeedfacecafebeefull};
	cr_assert_eq(cc_path_push(&r->path, &f), 0);
	f = (struct cc_fork){.at = 912};
	cr_assert_eq(cc_path_push(&r->path, &f), 0);
	r->has_bug = true;
	r->bug = (struct cc_bug_sig){
		.kind = CC_BUG_ALWAYS, .vm = 1, .tick = 1400};
	snprintf(r->bug.id, sizeof(r->bug.id), "election safety");
	snprintf(r->bug.what, sizeof(r->bug.what), "two leaders in term 3");
	r->trace_hash = 0x0123456789abcdefull;
}

Test(reproducer, round_trips_exactly)
{
	struct cc_repro a, b;
	struct cc_err e;
	sample(&a);
	char *text = cc_repro_json(&a);
	cr_assert_not_null(text);
	cr_assert_eq(cc_repro_parse(&b, text, strlen(text), &e), 0, "%s",
		     e.msg);
	char *again = cc_repro_json(&b);
	cr_assert_str_eq(text, again);
	cr_assert_eq(b.seed, a.seed);
	cr_assert_eq(b.path.n, 2);
	cr_assert_eq(b.path.fork[0].nfaults, 2);
	cr_assert_eq(memcmp(&b.path.fork[0].fault[1], &a.path.fork[0].fault[1],
			    sizeof(struct cc_fault)),
		     0);
	cr_assert_str_eq(b.bug.id, "election safety");
	free(text);
	free(again);
	cc_repro_free(&a);
	cc_repro_free(&b);
}

Test(reproducer, saves_atomically_and_loads)
{
	char dir[] = "/tmp/cc-repro-XXXXXX", path[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	struct cc_repro a, b;
	struct cc_err e;
	sample(&a);
	cr_assert_eq(cc_repro_save(&a, path, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_repro_load(&b, path, &e), 0, "%s", e.msg);
	cr_assert_eq(b.trace_hash, a.trace_hash);
	cc_repro_free(&a);
	cc_repro_free(&b);
	unlink(path);
	rmdir(dir);
}

/* The sample's text with one substring replaced. */
static int parse_edited(const char *from, const char *to, struct cc_err *e)
{
	struct cc_repro a, b;
	sample(&a);
	char *text = cc_repro_json(&a);
	char *at = strstr(text, from);
	cr_assert_not_null(at, "no \"%s\" in %s", from, text);
	char buf[8192];
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - text), text, to,
		 at + strlen(from));
	int rc = cc_repro_parse(&b, buf, strlen(buf), e);
	if (!rc)
		cc_repro_free(&b);
	free(text);
	cc_repro_free(&a);
	return rc;
}

Test(reproducer, refuses_bad_files_with_a_reason)
{
	static const struct {
		const char *from, *to, *says;
	} cases[] = {
		{"chaoscontrol-reproducer", "something-else",
		 "not a reproducer"},
		{"\"version\": 2", "\"version\": 3", "version 3"},
		{"\"offset\": 3", "\"offset\": 5000", "choices[1]"},
		{"\"vm\": 2,", "\"vm\": 3,", "choices[0]"},
		{"\"value\": \"0x0\"", "\"value\": 0", "choices[0]"},
		{"\"nodes\": 3", "\"nodes\": 0", "nodes"},
		{"\"nodes\": 3", "\"nodes\": 99", "nodes"},
		{"\"seed\": \"0xffffffffffffffff\"", "\"seed\": 12", "seed"},
		{"\"seed\": \"0xffffffffffffffff\"", "\"seed\": \"0xZZ\"",
		 "seed"},
		{"\"at\": 912", "\"at\": 100", "before the one before it"},
		{"\"at\": 912", "\"at\": 5000", "after \"until\""},
		{"\"at_ms\": 430", "\"at_ms\": 10", "before the fork"},
		{"\"network_heal\"", "\"network_mend\"", "forks[0]"},
		{"\"kind\": \"always\"", "\"kind\": \"sometimes\"",
		 "unknown kind"},
		{"\"stop_at_bug\": true", "\"stop_at_bug\": 1", "stop_at_bug"},
		{"\"sides\": [", "\"sides\": [7, ", "forks[0]"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct cc_err e = {0};
		cr_assert_eq(parse_edited(cases[k].from, cases[k].to, &e), -1,
			     "case %zu accepted", k);
		cr_assert(strstr(e.msg, cases[k].says), "case %zu: \"%s\"", k,
			  e.msg);
	}
	struct cc_repro r;
	struct cc_err e;
	cr_assert_eq(cc_repro_parse(&r, "[1]", 3, &e), -1);
	cr_assert_eq(cc_repro_parse(&r, "{\"format\":", 10, &e), -1);
	cr_assert_eq(cc_repro_load(&r, "/nonexistent/r.json", &e), -1);
	cr_assert(strstr(e.msg, "/nonexistent/r.json"), "%s", e.msg);
}
