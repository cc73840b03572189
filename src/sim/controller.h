/*
 * SimulationController: N VMs on one virtual timeline, a NetworkFabric
 * between them and a FaultEngine acting on them.
 *
 * Simulation time moves in ticks (CC_NS_PER_TICK).  cc_sim_step_round()
 * is one tick: at the boundary, in this order, the engine fires what is
 * due (each fault applied to its VM, its link or the fabric), paused VMs
 * whose time is up resume, and the fabric delivers what is due; then
 * every live VM runs to the next boundary of its own clock - on worker
 * threads when there are several, each VM's slice depending only on that
 * VM - and afterwards, in VM-index order, the frames each sent are taken
 * into the fabric and its setup_complete is passed to the engine.
 * Nothing crosses VMs inside a tick, so threads change nothing.
 *
 * Each VM's clock maps to simulation time by its own offset: a VM starts
 * wherever its boot left it, ClockSkew makes it run faster or slower
 * (ns per second of simulation time), ClockJump moves it at once (a
 * forward jump runs that much of the VM's time in one round; a backward
 * one holds the VM until the simulation has caught up), a pause stops
 * it and the resume catches it up (the guest sees the gap, as a stopped
 * process does), a restart takes it back to its initial snapshot.
 *
 * The cluster trace hash chains every VM's trace hash with everything
 * the controller decides (deliveries, faults, status changes) per round.
 */
#ifndef CC_CONTROLLER_H
#define CC_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

#include "../fault/engine.h"
#include "../vmm/snapshot.h"
#include "../vmm/vm.h"
#include "fabric.h"
#include "workers.h"

#define CC_SIM_MAX_VMS CC_FABRIC_MAX_VMS
#define CC_SIM_INBOX   256u /* frames held for a paused VM */

enum cc_vm_status {
	CC_VM_RUNNING,
	CC_VM_PAUSED,
	CC_VM_RESUMING, /* the round a paused VM catches up in */
	CC_VM_KILLED,
	CC_VM_HALTED, /* stopped by itself: powered off, crashed, error */
};

const char *cc_vm_status_name(enum cc_vm_status s);

struct cc_sim_frame {
	uint16_t len;
	uint8_t data[CC_NET_FRAME_MAX];
};

#define CC_SIM_MAX_OVERRIDES 64u /* choice overrides pending per VM */

struct cc_vm_slot {
	struct cc_vm *vm;
	struct cc_snapshot *initial; /* the VM at the start: restarts */
	enum cc_vm_status status;
	uint64_t target_ns;	    /* the VM's clock at the next boundary */
	int64_t skew_ns_per_s;	    /* ClockSkew */
	int64_t skew_carry;	    /* sub-ns remainder of the skew, x1000 */
	uint64_t paused_ticks;	    /* ticks spent paused, owed on resume */
	uint64_t resume_tick;	    /* auto-resume at; 0 = never */
	struct cc_disk_faults disk; /* what disk faults switched on */
	uint64_t memory_limit;	    /* MemoryPressure, bytes; 0 = none */
	bool setup_told;	    /* setup_complete passed to the engine */
	uint32_t kills, pauses, restarts;
	uint64_t frames_sent, frames_received, frames_dropped;
	struct cc_vm_result res;    /* how it halted */
	struct cc_sim_frame *inbox; /* while paused */
	size_t ninbox;
	size_t serial_seen; /* console bytes already passed to on_serial */
	/* SDK records of the VM's earlier lives (a restart rolls its log
	 * back with the rest of the VM; the oracle must still see them). */
	char **archive;
	size_t narchive;
	/* Input-tree mode: answers forced at its random_choice/get_random
	 * calls by sequence number (cc_sim_override_choice); part of the
	 * cluster's state, so snapshots keep them. */
	struct cc_hc_override ov[CC_SIM_MAX_OVERRIDES];
	size_t nov;
};

/* What the controller decided, as it decides it (recordings,
 * replay/observer.h): every event that enters the cluster trace hash,
 * and the frames the fabric or a receiver dropped, with the stage that
 * dropped them.  Called on the controller's thread, in hash order. */
enum cc_sim_event_kind {
	CC_SIM_EV_FAULT,   /* fault applied */
	CC_SIM_EV_STATUS,  /* vm's status became status */
	CC_SIM_EV_SEND,	   /* vm sent a frame (len, hash) */
	CC_SIM_EV_DELIVER, /* from -> vm, handed to the VM or its inbox */
	CC_SIM_EV_DROP,	   /* from -> vm (or unroutable), at stage */
	CC_SIM_EV_RESEED,  /* every stream restarted from value */
	CC_SIM_EV_CHOICE,  /* vm's draw `offset` from now answers value */
};

struct cc_sim_event {
	enum cc_sim_event_kind kind;
	uint64_t tick;
	unsigned vm, from;
	enum cc_vm_status status;
	uint32_t len;
	uint64_t hash; /* XXH3 of the frame */
	uint64_t offset, value;
	const char *stage;	      /* drops: partition, loss, full, ... */
	const struct cc_fault *fault; /* CC_SIM_EV_FAULT */
};

struct cc_sim_config {
	unsigned threads;		/* worker threads; 0 = none */
	struct cc_engine_config engine; /* nvms is filled in */
	uint64_t seed;			/* fabric, engine, VM streams */
	/* Console output, line by line, in VM order per round. */
	void (*on_serial)(void *ctx, unsigned vm, const char *line, size_t len);
	void *ctx;
	/* Optional: every event (above), with its own context, since
	 * branches borrow on_serial's. */
	void (*on_event)(void *ctx, const struct cc_sim_event *e);
	void (*after_round)(void *ctx); /* at the end of every round */
	void *event_ctx;
};

struct cc_sim {
	unsigned n;
	struct cc_vm_slot slot[CC_SIM_MAX_VMS];
	struct cc_fabric fabric;
	struct cc_fault_engine engine;
	struct cc_workers workers;
	struct cc_sim_config cfg;
	uint64_t tick;	    /* rounds done = simulation time in ticks */
	XXH3_state_t *hash; /* the controller's own event stream */
	uint64_t status_changes;
	char err[600]; /* the last failure applying a fault */
};

/*
 * Takes over the VMs (each at its start: the boot cache's ready point)
 * and the schedule; snapshots every VM as its initial state.  The
 * engine's setup gating and random faults come from cfg->engine.
 */
int cc_sim_init(struct cc_sim *s, struct cc_vm **vms, unsigned n,
		struct cc_schedule *sched, const struct cc_sim_config *cfg,
		struct cc_err *err);
void cc_sim_free(struct cc_sim *s); /* destroys the VMs too */

/* One tick; -1 with err if KVM itself failed. */
int cc_sim_step_round(struct cc_sim *s, struct cc_err *err);

/* True when no VM can run any more (all killed or halted). */
bool cc_sim_done(const struct cc_sim *s);

/* Every SDK record of VM i, earlier lives first (oracle input); the
 * array is the caller's to free, the strings are not. */
const char **cc_sim_records(const struct cc_sim *s, unsigned i, size_t *n);

/* A fork: every random stream of the cluster (each VM's, the fabric's,
 * the engine's) starts again from `seed`, as a run begun with it would
 * have; restarts from now on use it too, and cluster snapshots keep it.
 * The branches of one snapshot differ this way (run/branch.h). */
void cc_sim_reseed(struct cc_sim *s, uint64_t seed);

/* Input-tree mode: VM i's random draw `offset` draws from now (0: its
 * next) answers `value` (modulo the n it asks for) instead of its
 * stream's.  Overrides of draws already made are dropped first; -1 when
 * CC_SIM_MAX_OVERRIDES are still pending.  A traced controller event. */
int cc_sim_override_choice(struct cc_sim *s, unsigned i, uint64_t offset,
			   uint64_t value);

/* Drops every SDK record gathered so far, so cc_sim_records() returns
 * only what comes after (a branch's own, run/branch.h).  After a restore
 * from another lineage, the VM's log may hold records of the lineage it
 * left; a branch starts clean this way.  The guests see nothing. */
void cc_sim_forget_records(struct cc_sim *s);

/* Sets (or, with NULLs, clears) cfg.on_event, cfg.after_round and
 * their context. */
void cc_sim_observe(struct cc_sim *s,
		    void (*on_event)(void *ctx, const struct cc_sim_event *e),
		    void (*after_round)(void *ctx), void *ctx);

/* The cluster trace hash so far. */
uint64_t cc_sim_trace_hash(const struct cc_sim *s);

/* Applies one fault now (the engine does this for scheduled ones). */
void cc_sim_apply(struct cc_sim *s, const struct cc_fault *f);

/* The whole cluster: every VM, every slot, the fabric, the engine, the
 * clock and the hash.  Restoring puts all of it back; the VMs' console
 * buffers are cut back too, so output matches the uninterrupted run. */
struct cc_sim_snapshot;
int cc_sim_snapshot(struct cc_sim *s, struct cc_sim_snapshot **out,
		    struct cc_err *err);
int cc_sim_restore(struct cc_sim *s, const struct cc_sim_snapshot *snap,
		   struct cc_err *err);
void cc_sim_snapshot_free(struct cc_sim_snapshot *snap);
/* Host memory the snapshot holds: its own pages and its page tables. */
uint64_t cc_sim_snapshot_bytes(const struct cc_sim_snapshot *snap);

#endif
