/*
 * Branches: the explorer's primitive, and replay's and triage's.
 *
 * A *fork* changes a cluster's future at one tick: the fault schedule's
 * faults not yet dispatched are replaced by the fork's, and, when it
 * says so, every random stream of the cluster restarts from a new seed
 * (cc_sim_reseed).  A *path* is the forks from the start of a run, in
 * tick order: with the scenario and its seed it names one execution, so
 * re-running a path from the start (or from a snapshot on it) gives the
 * same trace hash.
 *
 * A *branch* is a fork applied to a cluster (usually just restored from
 * a snapshot) and a bounded run after it that collects what the explorer
 * needs: the SDK records of the branch alone (folded into an oracle),
 * the guests' edge coverage of the branch alone (bucketed, over every
 * VM), the bugs seen (a property broken, a crash, a VM that stopped
 * making progress) and the watchdog's count (a branch during which it
 * fired is not reproducible: never a bug; it ends at that round).
 */
#ifndef CC_RUN_BRANCH_H
#define CC_RUN_BRANCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../fault/oracle.h"
#include "../sim/controller.h"

#define CC_FORK_MAX_FAULTS 32u /* faults one fork may schedule */
#define CC_PATH_MAX_FORKS  4096u
#define CC_BRANCH_MAX_BUGS 8u
#define CC_BRANCH_TAIL	   16u /* console lines kept per VM */

#define CC_FORK_MAX_CHOICES 8u	  /* choice overrides one fork may set */
#define CC_FORK_MAX_OFFSET  1024u /* how far ahead a choice may be */

/* Input-tree mode: VM vm's random draw `offset` draws after the fork
 * answers value (modulo the n it asks for). */
struct cc_fork_choice {
	uint32_t vm, offset;
	uint64_t value;
};

struct cc_fork {
	uint64_t at; /* tick */
	bool reseed;
	uint64_t seed;
	struct cc_fault fault[CC_FORK_MAX_FAULTS]; /* absolute times >= at */
	size_t nfaults;
	struct cc_fork_choice choice[CC_FORK_MAX_CHOICES];
	size_t nchoices;
};

struct cc_path {
	struct cc_fork *fork;
	size_t n, cap;
};

int cc_path_push(struct cc_path *p, const struct cc_fork *f);
int cc_path_copy(struct cc_path *dst, const struct cc_path *src);
void cc_path_free(struct cc_path *p);

/* Applies f at the cluster's tick (which must be f->at); -1 with err. */
int cc_fork_apply(struct cc_sim *s, const struct cc_fork *f,
		  struct cc_err *err);

/* Runs s (at the start of its run) along p: to each fork's tick, then
 * the fork, for forks [0, upto); the cluster is left at fork upto's
 * tick (or where it stopped).  -1 with err. */
int cc_path_replay(struct cc_sim *s, const struct cc_path *p, size_t upto,
		   struct cc_err *err);
/* The same from fork `from` on: s is at a state on p before it (a
 * snapshot of an ancestor). */
int cc_path_replay_from(struct cc_sim *s, const struct cc_path *p, size_t from,
			size_t upto, struct cc_err *err);

enum cc_bug_kind {
	CC_BUG_ALWAYS,	    /* an always (or always_or_unreachable) failed */
	CC_BUG_UNREACHABLE, /* an unreachable was reached */
	CC_BUG_CRASH,	    /* a guest panic, a program killed by a signal,
			       a VM stopped by a triple fault or an error */
	CC_BUG_STALL,	    /* a running VM made no progress for too long */
};

const char *cc_bug_kind_name(enum cc_bug_kind k);

struct cc_bug_sig {
	enum cc_bug_kind kind;
	char id[160];	/* the dedup key: property id, crash signature */
	char what[240]; /* for people: the property's message, the line */
	unsigned vm;
	uint64_t tick;
};

/* A guest's crash as its console says it (init's verdict on its
 * program, guest/init/init.c, or the kernel's panic line): true with
 * the bug's id and text. */
bool cc_bug_console(const char *line, size_t len, char *id, size_t id_len,
		    char *what, size_t what_len);

struct cc_branch_opts {
	uint64_t until;	      /* run to this tick */
	uint64_t stall_ticks; /* no SDK call, frame or console line for this
				 long on a running VM is a bug; 0 = off */
	bool stop_at_bug;     /* end the branch at its first bug */
};

struct cc_branch_result {
	uint64_t start, ticks; /* ticks: where it ended */
	uint64_t trace_hash;
	uint64_t watchdog_fires; /* during the branch */
	struct cc_net_stats net; /* the frames the branch sent, delivered...*/
	uint8_t status[CC_SIM_MAX_VMS]; /* each VM's at the end (cc_vm_status)
					 */
	unsigned nvms;
	/* Bucket bits (run/coverage.h) of every edge hit, OR over the VMs;
	 * CC_COVERAGE_SIZE bytes, the caller's. */
	uint8_t *cov;
	struct cc_oracle oracle; /* the branch's SDK records */
	struct cc_bug_sig bug[CC_BRANCH_MAX_BUGS];
	size_t nbugs;
	uint64_t bugs_dropped; /* past CC_BRANCH_MAX_BUGS */
	/* The last console lines of each VM (bug reports). */
	char tail[CC_SIM_MAX_VMS][CC_BRANCH_TAIL][200];
	unsigned ntail[CC_SIM_MAX_VMS];
};

/*
 * One branch: the cluster as it is now (fork applied) runs to o->until.
 * r->cov must point to CC_COVERAGE_SIZE bytes; the oracle in r is the
 * caller's to free (cc_branch_result_free).  The cluster's on_serial
 * callback still sees every line.  -1 with err if KVM failed.
 */
int cc_branch_run(struct cc_sim *s, const struct cc_branch_opts *o,
		  struct cc_branch_result *r, struct cc_err *err);
void cc_branch_result_free(struct cc_branch_result *r);

/* The run's SDK records folded into o, VM by VM (one run). */
void cc_sim_fold_oracle(const struct cc_sim *s, struct cc_oracle *o);

#endif
