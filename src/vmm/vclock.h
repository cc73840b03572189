/*
 * The virtual clock: nanoseconds of guest time, advanced only at
 * deterministic points - a fixed cost per guest-caused exit class, and a
 * jump to the next timer deadline when the guest halts.  Host-caused
 * returns from KVM_RUN (signals, preemption) never touch it.
 */
#ifndef CC_VCLOCK_H
#define CC_VCLOCK_H

#include <stdint.h>

#include "../base/mem.h"

/* Exit classes, also the keys of the per-VM exit counters. */
enum cc_exit_class {
	CC_EXIT_PIO_IN,
	CC_EXIT_PIO_OUT,
	CC_EXIT_MMIO_READ,
	CC_EXIT_MMIO_WRITE,
	CC_EXIT_HLT,
	CC_EXIT_IRQ_WINDOW,
	CC_EXIT_SHUTDOWN,
	CC_EXIT_INTERNAL_ERROR,
	CC_EXIT_FAIL_ENTRY,
	CC_EXIT_SYSTEM_EVENT,
	CC_EXIT_OTHER,
	CC_EXIT_HOST, /* EINTR / KVM_EXIT_INTR: invisible to the guest */
	CC_EXIT__COUNT
};

/* Saved whole by snapshots; bump when the struct changes. */
#define CC_VCLOCK_STATE_VERSION 1
struct cc_vclock {
	uint64_t ns;
};

const char *cc_exit_class_name(enum cc_exit_class c);

/* Charges the fixed cost of one guest-caused exit of class c. */
void cc_vclock_exit(struct cc_vclock *vc, enum cc_exit_class c);

/* Moves time forward to `ns` (never backwards). */
static inline void cc_vclock_advance_to(struct cc_vclock *vc, uint64_t ns)
{
	if (ns > vc->ns)
		vc->ns = ns;
}

/* The guest-visible face of the clock: the page at CC_CLOCK_GPA
 * (protocol.h).  Init writes its header; publish writes the current time
 * and is called before every guest entry, so whatever in the guest reads
 * virtual time finer than a tick (the kernel's rdtsc emulation today, a
 * paravirtual clock later) reads this one value. */
void cc_vclock_page_init(struct cc_mem *mem);
void cc_vclock_publish(const struct cc_vclock *vc, struct cc_mem *mem);

#endif
