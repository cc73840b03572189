/*
 * The Raft core (guest/programs/raft/raft.c) outside any VM: N nodes on
 * an in-memory network with a millisecond clock, partitions, latency,
 * loss and restarts from each node's stored state.  Every seeded bug is
 * driven to the property it breaks, and the correct core under the same
 * script (and under many random ones) breaks none.  `make test` reports
 * the core's line coverage from this suite (gcov).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/programs/raft/raft.h"

#define N_MAX	5
#define Q_MAX	4096
#define CMD_MAX 2048

struct store {
	uint64_t term;
	int vote;
	uint64_t len;
	struct raft_entry log[RAFT_LOG_CAP];
};

struct sim;
struct node {
	struct sim *s;
	unsigned id;
	struct raft_io io;
	struct raft r;
	struct store disk;
	bool up;
	uint64_t applied[CMD_MAX + 1]; /* what the state machine ran */
};

struct sim {
	unsigned n;
	uint32_t bugs;
	int64_t now;
	uint64_t rng;
	struct node node[N_MAX];
	struct {
		int64_t at;
		struct raft_msg m;
	} q[Q_MAX];
	unsigned nq;
	int side[N_MAX];
	int64_t latency[N_MAX]; /* extra one-way delay from/to a node */
	unsigned loss_ppm;
	unsigned fails[RAFT_PROPS], goals[RAFT_GOALS];
	uint64_t cmds;
};

static uint64_t rnd(struct sim *s)
{
	s->rng += 0x9e3779b97f4a7c15ull;
	uint64_t x = s->rng;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void io_persist(void *ctx, const struct raft *r, uint64_t from)
{
	struct node *nd = ctx;
	nd->disk.term = r->term;
	nd->disk.vote = r->voted_for;
	nd->disk.len = from - 1;
	for (uint64_t i = from; i <= r->len; i++)
		nd->disk.log[nd->disk.len++] = r->log[i];
}

static void io_send(void *ctx, const struct raft_msg *m)
{
	struct node *nd = ctx;
	struct sim *s = nd->s;
	/* Criterion reports every assertion to its runner, passing ones
	 * too: on the hot path, assert only what failed. */
	const char *why = raft_msg_invalid(m, s->n);
	if (why)
		cr_assert_fail("the core sent a bad message: %s", why);
	if (s->nq == Q_MAX || rnd(s) % 1000000 < s->loss_ppm)
		return;
	int64_t d = 1 + (int64_t)(rnd(s) % 3) + s->latency[m->from] +
		    s->latency[m->to];
	s->q[s->nq].at = s->now + d;
	s->q[s->nq++].m = *m;
}

static uint64_t io_random(void *ctx, uint64_t n)
{
	return rnd(((struct node *)ctx)->s) % n;
}

static void io_apply(void *ctx, uint64_t index, uint64_t cmd)
{
	struct node *nd = ctx;
	if (index <= CMD_MAX)
		nd->applied[index] = cmd;
}

static void io_check(void *ctx, enum raft_prop p, bool ok, const char *why)
{
	(void)why;
	if (!ok)
		((struct node *)ctx)->s->fails[p]++;
}

static void io_goal(void *ctx, enum raft_goal g)
{
	((struct node *)ctx)->s->goals[g]++;
}

static void start(struct sim *s, unsigned i)
{
	struct node *nd = &s->node[i];
	raft_init(&nd->r, i, s->n, s->bugs, &nd->io, s->now, nd->disk.term,
		  nd->disk.vote, nd->disk.log, nd->disk.len);
	nd->up = true;
	memset(nd->applied, 0, sizeof(nd->applied));
}

static struct sim *sim_new(unsigned n, uint32_t bugs, uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	cr_assert(s);
	s->n = n;
	s->bugs = bugs;
	s->rng = seed;
	for (unsigned i = 0; i < n; i++) {
		struct node *nd = &s->node[i];
		nd->s = s;
		nd->id = i;
		nd->disk.vote = -1;
		nd->io = (struct raft_io){nd,	     io_persist, io_send,
					  io_random, io_apply,	 io_check,
					  io_goal};
		start(s, i);
	}
	return s;
}

static void restart(struct sim *s, unsigned i)
{
	start(s, i); /* volatile state gone; the disk as persisted */
}

static void partition(struct sim *s, const int *sides)
{
	for (unsigned i = 0; i < s->n; i++)
		s->side[i] = sides ? sides[i] : 0;
}

/* The node that leads the highest term, or -1. */
static int leader(struct sim *s)
{
	int best = -1;
	for (unsigned i = 0; i < s->n; i++)
		if (s->node[i].up && s->node[i].r.role == RAFT_LEADER &&
		    (best < 0 || s->node[i].r.term > s->node[best].r.term))
			best = (int)i;
	return best;
}

static uint64_t propose(struct sim *s, unsigned i)
{
	return raft_propose(&s->node[i].r, ++s->cmds * 1000 + i, s->now);
}

/* Runs ms milliseconds; with `every`, proposes to the leader that often. */
static void run(struct sim *s, int64_t ms, int64_t every)
{
	for (int64_t end = s->now + ms; s->now < end;) {
		s->now++;
		for (unsigned k = 0; k < s->nq;) {
			if (s->q[k].at > s->now) {
				k++;
				continue;
			}
			struct raft_msg m = s->q[k].m;
			s->q[k] = s->q[--s->nq];
			struct node *to = &s->node[m.to];
			if (to->up && s->side[m.from] == s->side[m.to])
				raft_recv(&to->r, &m, s->now);
		}
		for (unsigned i = 0; i < s->n; i++)
			if (s->node[i].up)
				raft_tick(&s->node[i].r, s->now);
		int l = leader(s);
		if (every && s->now % every == 0 && l >= 0)
			propose(s, (unsigned)l);
	}
}

/* Runs until pred or ms pass; true if pred. */
static bool run_until(struct sim *s, int64_t ms, bool (*pred)(struct sim *),
		      int64_t every)
{
	for (int64_t t = 0; t < ms; t++) {
		if (pred(s))
			return true;
		run(s, 1, every);
	}
	return pred(s);
}

static unsigned total_fails(const struct sim *s)
{
	unsigned t = 0;
	for (int p = 0; p < RAFT_PROPS; p++)
		t += s->fails[p];
	return t;
}

/* Every pair of nodes applied the same command at each index both ran. */
static void assert_same_applied(struct sim *s)
{
	for (uint64_t i = 1; i <= CMD_MAX; i++) {
		uint64_t v = 0;
		for (unsigned k = 0; k < s->n; k++) {
			uint64_t c = s->node[k].applied[i];
			if (!c)
				continue;
			if (v && v != c)
				cr_assert_fail(
					"index %llu applied as %llu and %llu",
					(unsigned long long)i,
					(unsigned long long)v,
					(unsigned long long)c);
			v = c;
		}
	}
}

Test(raft, a_fresh_cluster_elects_node_0_and_replicates)
{
	struct sim *s = sim_new(3, 0, 1);
	run(s, 1000, 20);
	cr_assert_eq(leader(s), 0);
	cr_assert_eq(s->goals[RAFT_GOAL_ELECTED], 1, "one election only");
	for (unsigned i = 0; i < 3; i++)
		cr_assert_geq(s->node[i].r.applied, 30, "node %u applied %llu",
			      i, (unsigned long long)s->node[i].r.applied);
	cr_assert_eq(total_fails(s), 0);
	assert_same_applied(s);
	free(s);
}

Test(raft, a_single_node_leads_and_commits_alone)
{
	struct sim *s = sim_new(1, 0, 1);
	run(s, 400, 20);
	cr_assert_eq(leader(s), 0);
	cr_assert_gt(s->node[0].r.applied, 5);
	free(s);
}

static bool new_leader(struct sim *s)
{
	int l = leader(s);
	return l > 0 && s->node[l].r.term > 1;
}

Test(raft, a_partitioned_leader_is_replaced_and_its_suffix_dropped)
{
	struct sim *s = sim_new(3, 0, 2);
	run(s, 500, 20);
	partition(s, (int[]){0, 1, 1});
	for (int i = 0; i < 3; i++)
		propose(s, 0); /* the old leader's, never committed */
	cr_assert(run_until(s, 2000, new_leader, 0));
	run(s, 500, 20);
	partition(s, NULL);
	run(s, 1000, 20);
	cr_assert_neq(leader(s), 0);
	cr_assert_eq(s->node[0].r.role, RAFT_FOLLOWER);
	cr_assert_gt(s->goals[RAFT_GOAL_TRUNCATED], 0);
	cr_assert_gt(s->goals[RAFT_GOAL_LEADER_CHANGE], 0);
	cr_assert_gt(s->goals[RAFT_GOAL_HEAL_COMMIT], 0);
	cr_assert_eq(total_fails(s), 0);
	run(s, 200, 0); /* writes stop: the logs meet */
	cr_assert_eq(s->node[0].r.len, s->node[leader(s)].r.len);
	cr_assert_eq(s->node[0].r.digest[s->node[0].r.len],
		     s->node[leader(s)].r.digest[s->node[0].r.len]);
	assert_same_applied(s);
	free(s);
}

Test(raft, a_restarted_node_recovers_from_its_disk)
{
	struct sim *s = sim_new(3, 0, 3);
	run(s, 600, 20);
	uint64_t had = s->node[2].r.len;
	cr_assert_gt(had, 10);
	restart(s, 2);
	cr_assert_eq(s->node[2].r.len, had, "the log came back from disk");
	run(s, 600, 20);
	cr_assert_gt(s->goals[RAFT_GOAL_RECOVERED], 0);
	restart(s, 0); /* the leader too */
	run(s, 1500, 20);
	cr_assert_geq(leader(s), 0);
	cr_assert_eq(total_fails(s), 0);
	assert_same_applied(s);
	free(s);
}

/* Many random schedules of partitions, loss, latency and restarts: the
 * correct core breaks nothing and keeps its state machines equal. */
Test(raft, random_faults_break_no_property_of_the_correct_core)
{
	/* Nested TCG runs this CPU-bound loop ~700x slower (144 s for 60). */
	uint64_t seeds = getenv("CC_TEST_NESTED") ? 10 : 60;
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		unsigned n = seed % 2 ? 3 : 5;
		struct sim *s = sim_new(n, 0, seed);
		for (int step = 0; step < 40; step++) {
			uint64_t f = rnd(s) % 6;
			int sides[N_MAX];
			for (unsigned i = 0; i < n; i++)
				sides[i] = (int)(rnd(s) % 2);
			if (f == 0)
				partition(s, sides);
			else if (f == 1)
				partition(s, NULL);
			else if (f == 2)
				restart(s, (unsigned)(rnd(s) % n));
			else if (f == 3)
				s->loss_ppm = (unsigned)(rnd(s) % 300000);
			else if (f == 4)
				s->latency[rnd(s) % n] =
					(int64_t)(rnd(s) % 120);
			else
				memset(s->latency, 0, sizeof(s->latency));
			run(s, 50 + (int64_t)(rnd(s) % 400), 15);
		}
		partition(s, NULL);
		s->loss_ppm = 0;
		memset(s->latency, 0, sizeof(s->latency));
		run(s, 2000, 15);
		cr_assert_eq(total_fails(s), 0, "seed %llu broke a property",
			     (unsigned long long)seed);
		assert_same_applied(s);
		cr_assert_geq(leader(s), 0, "seed %llu: no leader at the end",
			      (unsigned long long)seed);
		free(s);
	}
}

/* --- the seeded bugs, each to its property; the correct core alike ---- */

typedef void script_fn(struct sim *);

static struct sim *script(uint32_t bug, script_fn *fn)
{
	struct sim *s = sim_new(3, bug, 7);
	run(s, 500, 20);
	cr_assert_eq(leader(s), 0);
	fn(s);
	return s;
}

static void expect(uint32_t bug, script_fn *fn, enum raft_prop p)
{
	struct sim *good = script(0, fn);
	cr_assert_eq(total_fails(good), 0, "the correct core broke %u checks",
		     total_fails(good));
	assert_same_applied(good);
	free(good);
	struct sim *bad = script(bug, fn);
	cr_assert_gt(bad->fails[p], 0, "%s did not break %s",
		     raft_bug_name(bug), raft_prop_name(p));
	free(bad);
}

/* Node 0 cut off, nodes 1 and 2 slow to reach each other: both become
 * candidates in one term. */
static void two_candidates(struct sim *s)
{
	partition(s, (int[]){0, 1, 1});
	s->latency[1] = s->latency[2] = 100;
	run(s, 1500, 0);
	s->latency[1] = s->latency[2] = 0;
	partition(s, NULL);
	run(s, 1000, 20);
}

/* Node 0 cut off while it takes writes it cannot commit; the others
 * elect a leader and commit theirs; then they meet again. */
static void split_brain(struct sim *s)
{
	partition(s, (int[]){0, 1, 1});
	for (int i = 0; i < 3; i++)
		propose(s, 0);
	cr_assert(run_until(s, 2000, new_leader, 0));
	run(s, 300, 20);
	partition(s, NULL);
	run(s, 1000, 20);
}

/* The same, except that node 0 then meets only the follower. */
static void stale_leader_meets_follower(struct sim *s)
{
	partition(s, (int[]){0, 1, 1});
	for (int i = 0; i < 3; i++)
		propose(s, 0);
	cr_assert(run_until(s, 2000, new_leader, 0));
	run(s, 300, 20);
	int l = leader(s);
	int sides[3] = {0, 0, 0};
	sides[l] = 1;
	partition(s, sides);
	run(s, 1000, 0);
	partition(s, NULL);
	run(s, 1000, 20);
}

static int fig8_x;
static bool zero_leads_again(struct sim *s)
{
	return s->node[0].r.role == RAFT_LEADER && s->node[0].r.term > 1;
}
static bool zero_replicated(struct sim *s)
{
	unsigned y = 3 - (unsigned)fig8_x;
	return s->node[0].r.role == RAFT_LEADER &&
	       s->node[0].r.match[y] >= s->node[0].r.len;
}

/* The Raft paper's figure 8 on three nodes. */
static void figure8(struct sim *s)
{
	partition(s, (int[]){0, 1, 1});
	propose(s, 0); /* a: term 1, on node 0 only */
	cr_assert(run_until(s, 2000, new_leader, 0));
	fig8_x = leader(s);
	partition(s, (int[]){0, 1, 2}); /* x alone with its own entry */
	propose(s, (unsigned)fig8_x);
	int sides[3] = {0, 0, 0};
	sides[fig8_x] = 1; /* node 0 with y: 0 leads, replicates a to y */
	partition(s, sides);
	cr_assert(run_until(s, 3000, zero_leads_again, 0));
	cr_assert(run_until(s, 500, zero_replicated, 0));
	partition(s, (int[]){1, 0, 0}); /* x and y: x's longer term wins */
	run(s, 1500, 20);
	partition(s, NULL);
	run(s, 1000, 20);
}

Test(raft, double_vote_breaks_election_safety)
{
	expect(RAFT_BUG_DOUBLE_VOTE, two_candidates, RAFT_ELECTION_SAFETY);
}

Test(raft, skip_truncate_breaks_log_matching)
{
	expect(RAFT_BUG_SKIP_TRUNCATE, split_brain, RAFT_LOG_MATCHING);
}

Test(raft, accept_stale_term_breaks_state_machine_safety)
{
	expect(RAFT_BUG_ACCEPT_STALE_TERM, stale_leader_meets_follower,
	       RAFT_STATE_MACHINE_SAFETY);
}

Test(raft, leader_no_stepdown_breaks_election_safety)
{
	expect(RAFT_BUG_LEADER_NO_STEPDOWN, split_brain, RAFT_ELECTION_SAFETY);
}

Test(raft, fig8_commit_breaks_state_machine_safety)
{
	expect(RAFT_BUG_FIG8_COMMIT, figure8, RAFT_STATE_MACHINE_SAFETY);
}

Test(raft, premature_commit_breaks_state_machine_safety)
{
	expect(RAFT_BUG_PREMATURE_COMMIT, split_brain,
	       RAFT_STATE_MACHINE_SAFETY);
}

/* Without faults no bug shows: a seeded bug must need faults. */
Test(raft, no_bug_shows_without_faults)
{
	for (uint32_t bug = 1; bug <= RAFT_BUG_PREMATURE_COMMIT; bug <<= 1)
		for (uint64_t seed = 1; seed <= 10; seed++) {
			struct sim *s = sim_new(3, bug, seed);
			run(s, 2000, 20);
			cr_assert_eq(total_fails(s), 0, "%s, seed %llu",
				     raft_bug_name(bug),
				     (unsigned long long)seed);
			free(s);
		}
}

Test(raft, names_and_hostile_messages)
{
	for (uint32_t bug = 1; bug <= RAFT_BUG_PREMATURE_COMMIT; bug <<= 1)
		cr_assert_eq(raft_bug_named(raft_bug_name(bug)), bug);
	cr_assert_eq(raft_bug_named("none"), 0);
	cr_assert_null(raft_bug_name(3));
	cr_assert_str_eq(raft_prop_name(RAFT_LOG_MATCHING), "Log Matching");
	cr_assert_str_eq(raft_prop_name(RAFT_PROPS), "?");
	cr_assert_str_eq(raft_goal_name(RAFT_GOALS), "?");
	struct raft_msg ok = {.type = RAFT_APPEND, .from = 1, .to = 0, .n = 2};
	cr_assert_null(raft_msg_invalid(&ok, 3));
	struct raft_msg bad[] = {
		{.type = 0, .from = 1},
		{.type = 9, .from = 1},
		{.type = RAFT_APPEND, .from = 3},
		{.type = RAFT_APPEND, .from = 0, .to = 0},
		{.type = RAFT_APPEND, .from = 1, .n = RAFT_MAX_ENTRIES + 1},
		{.type = RAFT_VOTE_REPLY, .from = 1, .n = 1},
		{.type = RAFT_APPEND,
		 .from = 1,
		 .prev_index = RAFT_LOG_CAP + 1},
		{.type = RAFT_APPEND_REPLY, .from = 1, .applied = ~0ull},
		{.type = RAFT_VOTE_REPLY, .from = 1, .granted = 2},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_not_null(raft_msg_invalid(&bad[i], 3), "case %u", i);
	/* A valid but contrary AppendEntries at index 0 gets a hint, not an
	 * underflow. */
	struct sim *s = sim_new(3, 0, 1);
	struct raft_msg m = {.type = RAFT_APPEND,
			     .from = 1,
			     .to = 0,
			     .term = 1,
			     .prev_index = 0,
			     .prev_term = 5};
	raft_recv(&s->node[0].r, &m, 1);
	cr_assert_eq(s->nq, 1);
	cr_assert_eq(s->q[0].m.match, 0);
	cr_assert_eq(s->q[0].m.success, 0);
	free(s);
}
