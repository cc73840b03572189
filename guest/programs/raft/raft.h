/*
 * The Raft core: a pure state machine (Ongaro and Ousterhout, "In Search
 * of an Understandable Consensus Algorithm", 2014, figure 2).  It reads
 * no clock, no socket and no file: time, messages and randomness come in
 * through raft_tick()/raft_recv()/raft_propose(), and everything it does
 * leaves through the struct raft_io callbacks, persistence first (the
 * node fsyncs before any message of that step goes out).  The guest
 * program (main.c) binds it to UDP, a disk file and the SDK; the unit
 * tests (tests/unit/test_raft.c) bind it to an in-memory network.
 *
 * Properties are checked here, from what each node holds and hears: the
 * node passes each verdict to io->check (see enum raft_prop), so the same
 * checks run under the unit tests and in the VMs.
 */
#ifndef CC_RAFT_H
#define CC_RAFT_H

#include <stdbool.h>
#include <stdint.h>

#define RAFT_MAX_NODES	 5
#define RAFT_LOG_CAP	 4096 /* entries; a full log refuses proposals */
#define RAFT_MAX_ENTRIES 8    /* per AppendEntries */
#define RAFT_SEEN	 64   /* terms whose leader a node remembers */
#define RAFT_HEARTBEAT	 50   /* ms */
#define RAFT_ELECTION	 150  /* ms: a timeout is in [150, 300) */
#define RAFT_OUT_CAP	 (2 * RAFT_MAX_NODES)

enum raft_role { RAFT_FOLLOWER, RAFT_CANDIDATE, RAFT_LEADER };

enum raft_type {
	RAFT_REQUEST_VOTE = 1,
	RAFT_VOTE_REPLY,
	RAFT_APPEND,
	RAFT_APPEND_REPLY,
};

/* The seeded bugs (raft --bug NAME): each one line of the core wrong. */
enum raft_bug {
	RAFT_BUG_DOUBLE_VOTE = 1u << 0,	       /* votedFor not checked */
	RAFT_BUG_SKIP_TRUNCATE = 1u << 1,      /* conflicts kept */
	RAFT_BUG_ACCEPT_STALE_TERM = 1u << 2,  /* older terms not refused */
	RAFT_BUG_LEADER_NO_STEPDOWN = 1u << 3, /* term taken, role kept */
	RAFT_BUG_FIG8_COMMIT = 1u << 4,	       /* old-term entries counted */
	RAFT_BUG_PREMATURE_COMMIT = 1u << 5,   /* quorum n/2, not n/2+1 */
};

/* The Raft paper's guarantees (figure 3), as each node checks them. */
enum raft_prop {
	/* At most one leader per term: no node hears two leaders (or is
	 * one and hears another) in one term. */
	RAFT_ELECTION_SAFETY,
	/* Entries with the same index and term have the same prefix: each
	 * entry carries a digest of the log up to it, and AppendEntries the
	 * digest at prevLogIndex. */
	RAFT_LOG_MATCHING,
	/* A leader holds every committed entry: what any node of its term
	 * or older has applied, and what it applied itself. */
	RAFT_LEADER_COMPLETENESS,
	/* No two nodes apply different commands at one index (messages
	 * carry the digest of what the sender applied), and no node removes
	 * an entry it has applied. */
	RAFT_STATE_MACHINE_SAFETY,
	RAFT_PROPS
};

/* What exploration should reach (SDK `sometimes`). */
enum raft_goal {
	RAFT_GOAL_ELECTED,	 /* a leader elected */
	RAFT_GOAL_LEADER_CHANGE, /* a node follows a leader other than the last
				  */
	RAFT_GOAL_TRUNCATED,	 /* a follower drops a conflicting suffix */
	RAFT_GOAL_HEAL_COMMIT,	 /* a node applies again after a stall */
	RAFT_GOAL_RECOVERED, /* a restarted node applies from its disk log */
	RAFT_GOALS
};

struct raft_entry {
	uint64_t term, cmd;
};

/* One message; sent as these bytes (both ends run the same build). */
struct raft_msg {
	uint32_t type, from, to, n;
	uint64_t term;
	uint64_t applied, applied_digest; /* the sender's state machine */
	uint64_t last_index, last_term;	  /* RequestVote */
	uint64_t prev_index, prev_term, prev_digest, commit; /* Append */
	uint64_t match;		   /* AppendReply: last index matched */
	uint32_t granted, success; /* the replies */
	struct raft_entry e[RAFT_MAX_ENTRIES];
};

struct raft;

struct raft_io {
	void *ctx;
	/* Persistence, called before the step's messages go out: the term
	 * and vote, and the log from index `from` to r->len (truncate the
	 * stored log to from-1, then write those entries). */
	void (*persist)(void *ctx, const struct raft *r, uint64_t from);
	void (*send)(void *ctx, const struct raft_msg *m);
	uint64_t (*random)(void *ctx, uint64_t n); /* in [0, n) */
	void (*apply)(void *ctx, uint64_t index, uint64_t cmd);
	void (*check)(void *ctx, enum raft_prop p, bool ok, const char *why);
	void (*goal)(void *ctx, enum raft_goal g);
};

struct raft {
	unsigned self, n;
	uint32_t bugs;
	const struct raft_io *io;
	/* persistent (io->persist) */
	uint64_t term;
	int voted_for; /* -1: none */
	uint64_t len;
	struct raft_entry log[RAFT_LOG_CAP + 1]; /* 1-based; log[0] is term 0 */
	/* volatile */
	uint64_t digest[RAFT_LOG_CAP + 1]; /* of the log up to each entry */
	enum raft_role role;
	int leader; /* the leader this node follows (or is); -1 */
	uint64_t commit, applied;
	uint64_t applied_digest[RAFT_LOG_CAP + 1];
	int64_t now, election_at, heartbeat_at, last_apply_at;
	bool votes[RAFT_MAX_NODES];
	uint64_t next[RAFT_MAX_NODES], match[RAFT_MAX_NODES];
	struct {
		uint64_t term;
		int leader;
	} seen[RAFT_SEEN];
	int last_leader;   /* for RAFT_GOAL_LEADER_CHANGE */
	uint64_t restored; /* log length read from disk at start */
	/* the current step's effects */
	bool dirty;
	uint64_t dirty_from; /* 0: the log is clean */
	struct raft_msg out[RAFT_OUT_CAP];
	unsigned nout;
};

/* Starts node `self` of `n` at time `now` from its stored state (term,
 * vote, log[1..len]); a node with a log it had before is a restart. */
void raft_init(struct raft *r, unsigned self, unsigned n, uint32_t bugs,
	       const struct raft_io *io, int64_t now, uint64_t term,
	       int voted_for, const struct raft_entry *log, uint64_t len);
void raft_tick(struct raft *r, int64_t now);
void raft_recv(struct raft *r, const struct raft_msg *m, int64_t now);
/* Appends a command if this node leads: its index, or 0. */
uint64_t raft_propose(struct raft *r, uint64_t cmd, int64_t now);
/* The next time raft_tick has something to do. */
int64_t raft_deadline(const struct raft *r);

/* A received message's shape (type, sender, counts); NULL if it may be
 * handed to raft_recv, else why not. */
const char *raft_msg_invalid(const struct raft_msg *m, unsigned n);

/* The digest of a log prefix (0 for none) extended by entry e. */
uint64_t raft_digest_next(uint64_t h, const struct raft_entry *e);

/* "double_vote" -> its bit; 0 for a name that is none. */
uint32_t raft_bug_named(const char *name);
const char *raft_bug_name(uint32_t bug);
const char *raft_prop_name(enum raft_prop p);
const char *raft_goal_name(enum raft_goal g);

#endif
