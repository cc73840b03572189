/*
 * Which kind of KVM are we on?  Users have hardware virtualization; our
 * own machines have PVM, a software hypervisor where CPUID filtering is
 * ignored and guest kernel code is emulated (docs/DETERMINISM.md).  Two
 * tiny probe guests answer it by experiment rather than by guessing from
 * host files: one reads back a CPUID leaf we set, one times a CPL0 loop.
 * The probe runs in throwaway VMs and reads host time only to measure;
 * nothing of it reaches a real guest.
 */
#ifndef CC_PLATFORM_H
#define CC_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum cc_platform_kind { CC_PLATFORM_HARDWARE, CC_PLATFORM_PVM };

struct cc_platform {
	enum cc_platform_kind kind;
	bool cpuid_filtering;	 /* KVM_SET_CPUID2 takes effect */
	bool cpl0_native;	 /* guest kernel code runs natively */
	double cpl0_ns_per_iter; /* dec+jnz loop at CPL0 */
	double exit_us;		 /* port-I/O exit round trip */
	bool pvm_module;	 /* /sys/module/kvm_pvm exists (a hint) */
};

const char *cc_platform_name(enum cc_platform_kind k);
/* What the VMM cannot control on this platform (NULL-terminated): listed
 * in every run's report, never hidden. */
const char *const *cc_platform_limits(enum cc_platform_kind k);

/* Runs the probe guests (~50 ms on PVM, less on hardware). */
int cc_platform_probe(struct cc_platform *p, struct cc_err *err);

#endif
