/*
 * FaultEngine: decides which faults fire when.  It holds a FaultSchedule
 * and, optionally, generates random faults from the simulation seed; at
 * each tick boundary the controller asks it for what is due and applies
 * it (the engine knows nothing of VMs: it calls back).
 *
 * Gating on setup_complete: with `gate` set, nothing fires until the
 * guests said their set-up is complete - all of them (CC_GATE_ALL), the
 * fault's target VM (CC_GATE_PER_VM; faults without one, partition and
 * heal, wait for all), or any one (CC_GATE_ANY: the Antithesis model,
 * where the workload says once that the system under test is up, and a
 * server that knows nothing of the SDK never says it).  A gated fault is held,
 * not dropped, and fires in schedule order when its gate opens.  Every fault
 * that fired is logged with the time it fired.
 *
 * Random faults: with rate_ppm > 0, each tick draws (from the engine's
 * stream, the raw seed: DESIGN.md's domain for the fault engine) whether
 * a fault happens, which kind (from `kinds`), which VM and its
 * parameters, within fixed bounds.  Same seed, same faults.
 */
#ifndef CC_ENGINE_H
#define CC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/entropy.h"
#include "schedule.h"

enum cc_gate { CC_GATE_NONE, CC_GATE_ALL, CC_GATE_PER_VM, CC_GATE_ANY };

struct cc_engine_config {
	unsigned nvms;
	enum cc_gate gate;
	uint32_t rate_ppm; /* random faults per tick, ppm; 0 = none */
	uint64_t random_from_ns, random_until_ns; /* window; until 0 = on */
	bool kinds[CC_FAULT__COUNT]; /* kinds random faults may take */
};

struct cc_fired {
	uint64_t fired_ns;
	struct cc_fault fault;
	bool random;
};

struct cc_fault_engine {
	struct cc_engine_config cfg;
	struct cc_schedule sched;
	struct cc_entropy rng;
	bool setup[CC_SCHEDULE_MAX_VMS];
	struct cc_fault *held; /* due but gated, in schedule order */
	size_t nheld, cap_held;
	struct cc_fired *log;
	size_t nlog, cap_log;
};

/* Takes ownership of sched (may be empty). */
int cc_engine_init(struct cc_fault_engine *e, const struct cc_engine_config *c,
		   struct cc_schedule *sched, uint64_t seed);
void cc_engine_free(struct cc_fault_engine *e);

/* Deep copy (cluster snapshots); dst must be uninitialised or freed. */
int cc_engine_copy(struct cc_fault_engine *dst,
		   const struct cc_fault_engine *src);

/* VM `vm` called setup_complete. */
void cc_engine_setup_complete(struct cc_fault_engine *e, unsigned vm);

/* Fires everything due at tick boundary now_ns (schedule, held, random):
 * apply(ctx, fault) for each, in order.  Returns how many fired. */
size_t cc_engine_tick(struct cc_fault_engine *e, uint64_t now_ns,
		      void (*apply)(void *ctx, const struct cc_fault *f),
		      void *ctx);

/* Whether faults without a target VM may fire now (the explorer's root). */
bool cc_engine_gate_open(const struct cc_fault_engine *e);

/* A fault's parameters (all but kind and time) drawn from rng within
 * the engine's bounds; the explorer draws its faults with it too. */
/* Whether faults of kind k act on one VM (cc_fault.vm): all but
 * partitions and heals. */
bool cc_fault_has_vm(enum cc_fault_kind k);

void cc_fault_random_params(struct cc_entropy *rng, unsigned nvms,
			    struct cc_fault *f);

/* A fork (run/branch.h): the faults not yet dispatched are replaced by
 * f[0, n) (at or after the current time); -1 when out of memory. */
int cc_engine_set_future(struct cc_fault_engine *e, const struct cc_fault *f,
			 size_t n);
/* Random faults from now on come from this seed's stream. */
void cc_engine_reseed(struct cc_fault_engine *e, uint64_t seed);

#endif
