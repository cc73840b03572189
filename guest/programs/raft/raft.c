/*
 * The Raft core (raft.h).  Each entry point sets the time, does one
 * step, then flushes it: persistence first, then the messages.
 */
#include "raft.h"

#include <string.h>

static const char *const bug_names[] = {
	"double_vote",	      "skip_truncate", "accept_stale_term",
	"leader_no_stepdown", "fig8_commit",   "premature_commit",
};
static const char *const prop_names[RAFT_PROPS] = {
	"Election Safety",
	"Log Matching",
	"Leader Completeness",
	"State Machine Safety",
};
static const char *const goal_names[RAFT_GOALS] = {
	"a leader is elected",
	"a node follows a new leader",
	"a follower truncates a conflicting suffix",
	"a node applies again after a partition heals",
	"a restarted node applies entries from its disk",
};

uint32_t raft_bug_named(const char *name)
{
	for (unsigned i = 0; i < sizeof(bug_names) / sizeof(*bug_names); i++)
		if (!strcmp(name, bug_names[i]))
			return 1u << i;
	return 0;
}

const char *raft_bug_name(uint32_t bug)
{
	for (unsigned i = 0; i < sizeof(bug_names) / sizeof(*bug_names); i++)
		if (bug == 1u << i)
			return bug_names[i];
	return NULL;
}

const char *raft_prop_name(enum raft_prop p)
{
	return p < RAFT_PROPS ? prop_names[p] : "?";
}

const char *raft_goal_name(enum raft_goal g)
{
	return g < RAFT_GOALS ? goal_names[g] : "?";
}

/* The digest of a log prefix, extended by one entry: splitmix64's
 * finaliser over the previous digest and the entry. */
uint64_t raft_digest_next(uint64_t h, const struct raft_entry *e)
{
	uint64_t x = h ^ (e->term * 0x9e3779b97f4a7c15ull) ^
		     (e->cmd + 0x632be59bd9b4e019ull);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void check(struct raft *r, enum raft_prop p, bool ok, const char *why)
{
	r->io->check(r->io->ctx, p, ok, why);
}

static void goal(struct raft *r, enum raft_goal g)
{
	r->io->goal(r->io->ctx, g);
}

static uint64_t last_term(const struct raft *r)
{
	return r->log[r->len].term;
}

static void set_timer(struct raft *r)
{
	r->election_at = r->now + RAFT_ELECTION +
			 (int64_t)r->io->random(r->io->ctx, RAFT_ELECTION);
}

/* Queues m to m->to; the header is this node's. */
static void post(struct raft *r, struct raft_msg *m)
{
	if (r->nout == RAFT_OUT_CAP)
		return; /* a full step drops the rest, like a lossy network */
	m->from = r->self;
	m->term = r->term;
	m->applied = r->applied;
	m->applied_digest = r->applied_digest[r->applied];
	r->out[r->nout++] = *m;
}

static void flush(struct raft *r)
{
	if (r->dirty || r->dirty_from)
		r->io->persist(r->io->ctx, r,
			       r->dirty_from ? r->dirty_from : r->len + 1);
	r->dirty = false;
	r->dirty_from = 0;
	for (unsigned i = 0; i < r->nout; i++)
		r->io->send(r->io->ctx, &r->out[i]);
	r->nout = 0;
}

static void log_dirty(struct raft *r, uint64_t from)
{
	if (!r->dirty_from || from < r->dirty_from)
		r->dirty_from = from;
}

static bool append(struct raft *r, uint64_t term, uint64_t cmd)
{
	if (r->len == RAFT_LOG_CAP)
		return false;
	r->len++;
	r->log[r->len] = (struct raft_entry){term, cmd};
	r->digest[r->len] =
		raft_digest_next(r->digest[r->len - 1], &r->log[r->len]);
	log_dirty(r, r->len);
	return true;
}

/* Drops log[from..]: a conflicting suffix. */
static void truncate_from(struct raft *r, uint64_t from)
{
	check(r, RAFT_STATE_MACHINE_SAFETY, from > r->applied,
	      "a node removes an entry it has applied");
	r->len = from - 1;
	if (r->commit > r->len)
		r->commit = r->len;
	log_dirty(r, from);
	goal(r, RAFT_GOAL_TRUNCATED);
}

/* Election Safety as one node sees it: the first leader it heard of (or
 * was) in a term is the only one. */
static void saw_leader(struct raft *r, uint64_t term, int leader)
{
	unsigned s = (unsigned)(term % RAFT_SEEN);
	if (r->seen[s].term == term && r->seen[s].leader >= 0) {
		check(r, RAFT_ELECTION_SAFETY, r->seen[s].leader == leader,
		      "two leaders in one term");
		return;
	}
	if (r->seen[s].term <= term) {
		r->seen[s].term = term;
		r->seen[s].leader = leader;
	}
}

static void apply(struct raft *r)
{
	while (r->applied < r->commit && r->applied < r->len) {
		uint64_t i = ++r->applied;
		r->applied_digest[i] = r->digest[i];
		r->io->apply(r->io->ctx, i, r->log[i].cmd);
		if (i <= r->restored)
			goal(r, RAFT_GOAL_RECOVERED);
		/* A node cut off (or a leader without a majority) that
		 * applies again: the commit after a partition heals. */
		if (r->last_apply_at >= 0 &&
		    r->now - r->last_apply_at > 2 * RAFT_ELECTION)
			goal(r, RAFT_GOAL_HEAL_COMMIT);
		r->last_apply_at = r->now;
	}
}

static void send_append(struct raft *r, unsigned to)
{
	uint64_t next = r->next[to];
	if (next < 1)
		next = 1;
	if (next > r->len + 1)
		next = r->len + 1;
	struct raft_msg m = {.type = RAFT_APPEND, .to = to};
	m.prev_index = next - 1;
	m.prev_term = r->log[m.prev_index].term;
	m.prev_digest = r->digest[m.prev_index];
	m.commit = r->commit;
	while (m.n < RAFT_MAX_ENTRIES && m.prev_index + m.n < r->len) {
		m.e[m.n] = r->log[m.prev_index + m.n + 1];
		m.n++;
	}
	post(r, &m);
}

static void broadcast_append(struct raft *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (i != r->self)
			send_append(r, i);
	r->heartbeat_at = r->now + RAFT_HEARTBEAT;
}

static void become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = (int)r->self;
	saw_leader(r, r->term, (int)r->self);
	check(r, RAFT_LEADER_COMPLETENESS,
	      r->applied <= r->len &&
		      r->digest[r->applied] == r->applied_digest[r->applied],
	      "a new leader's log lacks an entry it applied");
	goal(r, RAFT_GOAL_ELECTED);
	for (unsigned i = 0; i < r->n; i++) {
		r->next[i] = r->len + 1;
		r->match[i] = 0;
	}
	r->match[r->self] = r->len;
	broadcast_append(r);
}

static unsigned count_votes(const struct raft *r)
{
	unsigned c = 0;
	for (unsigned i = 0; i < r->n; i++)
		c += r->votes[i];
	return c;
}

static void start_election(struct raft *r)
{
	r->term++;
	r->role = RAFT_CANDIDATE;
	r->voted_for = (int)r->self;
	r->leader = -1;
	r->dirty = true;
	memset(r->votes, 0, sizeof(r->votes));
	r->votes[r->self] = true;
	set_timer(r);
	for (unsigned i = 0; i < r->n; i++) {
		if (i == r->self)
			continue;
		struct raft_msg m = {.type = RAFT_REQUEST_VOTE, .to = i};
		m.last_index = r->len;
		m.last_term = last_term(r);
		post(r, &m);
	}
	if (count_votes(r) > r->n / 2)
		become_leader(r);
}

/* A higher term: take it and follow. */
static void adopt_term(struct raft *r, uint64_t term)
{
	r->term = term;
	r->voted_for = -1;
	r->dirty = true;
	if (r->role == RAFT_LEADER && (r->bugs & RAFT_BUG_LEADER_NO_STEPDOWN)) {
		/* BUG leader_no_stepdown: the term is taken, the step-down
		 * forgotten; it now leads the new term too. */
		saw_leader(r, term, (int)r->self);
		return;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = -1;
}

/* Is m of this node's term?  (BUG accept_stale_term: or older.) */
static bool current(const struct raft *r, const struct raft_msg *m)
{
	if (r->bugs & RAFT_BUG_ACCEPT_STALE_TERM)
		return m->term <= r->term;
	return m->term == r->term;
}

static void on_request_vote(struct raft *r, const struct raft_msg *m)
{
	bool log_ok = m->last_term > last_term(r) ||
		      (m->last_term == last_term(r) && m->last_index >= r->len);
	bool free = r->voted_for < 0 || r->voted_for == (int)m->from;
	if (r->bugs & RAFT_BUG_DOUBLE_VOTE)
		free = true; /* BUG double_vote: votedFor is not looked at */
	struct raft_msg reply = {.type = RAFT_VOTE_REPLY, .to = m->from};
	if (current(r, m) && free && log_ok) {
		r->voted_for = (int)m->from;
		r->dirty = true;
		reply.granted = 1;
		set_timer(r);
	}
	post(r, &reply);
}

static void on_vote_reply(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_CANDIDATE || !current(r, m) || !m->granted)
		return;
	r->votes[m->from] = true;
	if (count_votes(r) > r->n / 2)
		become_leader(r);
}

/* Follower side: the consistency check, then the entries. */
static void take_entries(struct raft *r, const struct raft_msg *m,
			 struct raft_msg *reply)
{
	if (m->prev_index > r->len ||
	    r->log[m->prev_index].term != m->prev_term) {
		/* a hint: where the leader should look next */
		reply->match = m->prev_index > r->len ? r->len
			       : m->prev_index	      ? m->prev_index - 1
						      : 0;
		return;
	}
	check(r, RAFT_LOG_MATCHING, r->digest[m->prev_index] == m->prev_digest,
	      "two logs agree on an entry's index and term but not on what "
	      "precedes it");
	uint64_t idx = m->prev_index;
	for (uint32_t k = 0; k < m->n; k++) {
		idx = m->prev_index + 1 + k;
		if (idx <= r->len) {
			if (r->log[idx].term == m->e[k].term)
				continue;
			if (r->bugs & RAFT_BUG_SKIP_TRUNCATE)
				continue; /* BUG skip_truncate: ours is kept */
			truncate_from(r, idx);
		}
		if (!append(r, m->e[k].term, m->e[k].cmd)) {
			idx = r->len;
			break;
		}
	}
	reply->success = 1;
	reply->match = idx;
	uint64_t commit = m->commit < idx ? m->commit : idx;
	if (commit > r->commit) {
		r->commit = commit;
		apply(r);
	}
}

static void on_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg reply = {.type = RAFT_APPEND_REPLY, .to = m->from};
	if (!current(r, m)) {
		post(r, &reply); /* our term tells it to step down */
		return;
	}
	saw_leader(r, m->term, (int)m->from);
	if (r->role == RAFT_LEADER && (r->bugs & RAFT_BUG_LEADER_NO_STEPDOWN))
		return; /* it keeps leading, and ignores the other */
	r->role = RAFT_FOLLOWER;
	if (r->leader != (int)m->from) {
		if (r->last_leader >= 0 && r->last_leader != (int)m->from)
			goal(r, RAFT_GOAL_LEADER_CHANGE);
		r->leader = r->last_leader = (int)m->from;
	}
	set_timer(r);
	take_entries(r, m, &reply);
	post(r, &reply);
}

static void advance_commit(struct raft *r)
{
	/* BUG premature_commit: n/2 is a majority only with the leader
	 * counted twice. */
	unsigned quorum =
		(r->bugs & RAFT_BUG_PREMATURE_COMMIT) ? r->n / 2 : r->n / 2 + 1;
	for (uint64_t idx = r->len; idx > r->commit; idx--) {
		/* Only an entry of this term commits by counting (figure 8);
		 * older ones commit with it.  BUG fig8_commit: counted too. */
		if (r->log[idx].term != r->term &&
		    !(r->bugs & RAFT_BUG_FIG8_COMMIT))
			break;
		unsigned have = 0;
		for (unsigned i = 0; i < r->n; i++)
			have += r->match[i] >= idx;
		if (have >= quorum) {
			r->commit = idx;
			apply(r);
			return;
		}
	}
}

static void on_append_reply(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER || !current(r, m))
		return;
	if (m->success) {
		if (m->match > r->match[m->from])
			r->match[m->from] = m->match;
		r->next[m->from] = r->match[m->from] + 1;
		advance_commit(r);
		return;
	}
	uint64_t next = r->next[m->from] - 1;
	if (m->match + 1 < next)
		next = m->match + 1;
	r->next[m->from] = next < 1 ? 1 : next;
	send_append(r, m->from); /* back off and retry at once */
}

/* What every message says about the sender's state machine. */
static void check_applied(struct raft *r, const struct raft_msg *m)
{
	if (m->applied <= r->applied)
		check(r, RAFT_STATE_MACHINE_SAFETY,
		      r->applied_digest[m->applied] == m->applied_digest,
		      "two nodes applied different commands at one index");
	if (r->role == RAFT_LEADER && m->term <= r->term)
		check(r, RAFT_LEADER_COMPLETENESS,
		      m->applied <= r->len &&
			      r->digest[m->applied] == m->applied_digest,
		      "a node applied an entry the leader lacks");
}

void raft_init(struct raft *r, unsigned self, unsigned n, uint32_t bugs,
	       const struct raft_io *io, int64_t now, uint64_t term,
	       int voted_for, const struct raft_entry *log, uint64_t len)
{
	memset(r, 0, sizeof(*r));
	r->self = self;
	r->n = n;
	r->bugs = bugs;
	r->io = io;
	r->now = now;
	r->term = term;
	r->voted_for = voted_for;
	for (uint64_t i = 0; i < len && i < RAFT_LOG_CAP; i++)
		append(r, log[i].term, log[i].cmd);
	r->restored = r->len;
	r->dirty_from = 0; /* what was read is on disk already */
	r->role = RAFT_FOLLOWER;
	r->leader = r->last_leader = -1;
	r->last_apply_at = -1;
	for (unsigned i = 0; i < RAFT_SEEN; i++)
		r->seen[i].leader = -1;
	/* The first timeout is staggered by node so that a fresh cluster
	 * elects node 0 without a race: only faults make elections
	 * contested (a seeded bug must need faults to show). */
	r->election_at = now + (int64_t)(RAFT_ELECTION * (1 + self)) +
			 (int64_t)io->random(io->ctx, RAFT_ELECTION / 2);
}

void raft_tick(struct raft *r, int64_t now)
{
	r->now = now;
	if (r->role == RAFT_LEADER) {
		if (now >= r->heartbeat_at)
			broadcast_append(r);
	} else if (now >= r->election_at) {
		start_election(r);
	}
	flush(r);
}

void raft_recv(struct raft *r, const struct raft_msg *m, int64_t now)
{
	r->now = now;
	if (m->term > r->term)
		adopt_term(r, m->term);
	check_applied(r, m);
	switch (m->type) {
	case RAFT_REQUEST_VOTE:
		on_request_vote(r, m);
		break;
	case RAFT_VOTE_REPLY:
		on_vote_reply(r, m);
		break;
	case RAFT_APPEND:
		on_append(r, m);
		break;
	case RAFT_APPEND_REPLY:
		on_append_reply(r, m);
		break;
	}
	flush(r);
}

uint64_t raft_propose(struct raft *r, uint64_t cmd, int64_t now)
{
	r->now = now;
	if (r->role != RAFT_LEADER || !append(r, r->term, cmd)) {
		flush(r);
		return 0;
	}
	r->match[r->self] = r->len;
	advance_commit(r);
	uint64_t idx = r->len;
	flush(r);
	return idx;
}

int64_t raft_deadline(const struct raft *r)
{
	return r->role == RAFT_LEADER ? r->heartbeat_at : r->election_at;
}

const char *raft_msg_invalid(const struct raft_msg *m, unsigned n)
{
	if (m->type < RAFT_REQUEST_VOTE || m->type > RAFT_APPEND_REPLY)
		return "unknown type";
	if (m->from >= n || m->to >= n || m->from == m->to)
		return "sender or receiver out of range";
	if (m->n > RAFT_MAX_ENTRIES || (m->n && m->type != RAFT_APPEND))
		return "bad entry count";
	if (m->applied > RAFT_LOG_CAP || m->last_index > RAFT_LOG_CAP ||
	    m->prev_index > RAFT_LOG_CAP || m->match > RAFT_LOG_CAP ||
	    m->commit > RAFT_LOG_CAP + RAFT_MAX_ENTRIES)
		return "index out of range";
	if (m->granted > 1 || m->success > 1)
		return "bad flag";
	return NULL;
}
