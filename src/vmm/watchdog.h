/*
 * The liveness watchdog and the guest-RIP sampler: one host thread that
 * wakes every few milliseconds of wall time and, when asked, kicks the
 * vCPU thread out of KVM_RUN with a signal.
 *
 * This is the only place in the VMM that reads host time.  A sampler
 * kick is invisible to the guest (the VMM only reads RIP).  A watchdog
 * kick is not: it exists because a guest that spins without exits would
 * stall virtual time forever, so the VMM forces time forward at a
 * host-chosen instruction.  Each firing is counted and reported as a
 * non-deterministic event, never hidden.
 *
 * Two bounds, because on PVM the guest's kernel is emulated (~1000x
 * slower) while its user code runs natively: `timeout_ms` is sized for
 * kernel work without exits (a boot's page clearing), `user_ms` for a
 * user program that makes no system call, fault or I/O for that long,
 * which on any platform means it spins.  Past user_ms of stall the
 * thread sends probes (invisible, like samples) every user_ms / 2; the
 * vCPU thread fires when two probes in a row find CPL 3 with no exit
 * between them (cc_watchdog_probe).
 */
#ifndef CC_WATCHDOG_H
#define CC_WATCHDOG_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"

#define CC_KICK_SAMPLE	 1
#define CC_KICK_WATCHDOG 2
#define CC_KICK_PROBE	 4 /* is the stalled guest in user mode? */

struct cc_watchdog {
	pthread_t thread;
	_Atomic(pthread_t) target; /* the thread running the vCPU now */
	bool started;
	unsigned timeout_ms, sample_ms, user_ms, period_ms;
	atomic_uint_fast64_t exits; /* bumped by the vCPU thread per exit */
	atomic_bool in_run;	    /* vCPU thread is inside KVM_RUN */
	atomic_int kick;	    /* CC_KICK_* bits for the vCPU thread */
	atomic_bool stop;
	/* vCPU thread only: the exit count at the last user-mode probe
	 * and how many probes in a row found user mode since it. */
	uint64_t probe_exits;
	unsigned user_probes;
};

/* Call from the thread about to run the vCPU, before every run: the
 * first call starts the watchdog thread, later ones only retarget it
 * (a simulation runs a VM a slice per tick, possibly on another thread
 * than the one that booted it); `run` gets immediate_exit set on a kick.
 * Between runs (in_run false) it never kicks. */
int cc_watchdog_start(struct cc_watchdog *w, struct kvm_run *run,
		      unsigned timeout_ms, unsigned user_ms, unsigned sample_ms,
		      struct cc_err *err);
/* Ends the watchdog thread (with the VM). */
void cc_watchdog_stop(struct cc_watchdog *w);

/* vCPU thread: fetch and clear the pending kick bits. */
static inline int cc_watchdog_take(struct cc_watchdog *w)
{
	return atomic_exchange(&w->kick, 0);
}

/* vCPU thread, on CC_KICK_PROBE, with the CPL the guest was kicked at:
 * true when the watchdog must fire (a user-mode spin past user_ms). */
static inline bool cc_watchdog_probe(struct cc_watchdog *w, unsigned cpl)
{
	uint64_t exits = atomic_load(&w->exits);
	if (cpl != 3 || exits != w->probe_exits) {
		w->probe_exits = exits;
		w->user_probes = cpl == 3;
		return false;
	}
	if (++w->user_probes < 2)
		return false;
	w->user_probes = 0;
	return true;
}

#endif
