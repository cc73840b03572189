/*
 * Which kind of KVM are we on?  Users have hardware virtualization; our
 * own machines have PVM, a software hypervisor where CPUID filtering is
 * ignored and guest kernel code is emulated (docs/DETERMINISM.md).  A
 * tiny probe guest answers it by function: it reads back CPUID leaves we
 * set and bits we cleared (PVM passes RDRAND and leaf 7 through).  A
 * second one times a CPL0 loop and an exit, for the report only: speed
 * never decides the kind (a loaded or nested hardware host is slow).
 * The probe runs in throwaway VMs and reads host time only to measure;
 * nothing of it reaches a real guest.
 */
#ifndef CC_PLATFORM_H
#define CC_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"

enum cc_platform_kind { CC_PLATFORM_HARDWARE, CC_PLATFORM_PVM };

struct cc_platform {
	enum cc_platform_kind kind;
	bool cpuid_filtering;	/* KVM_SET_CPUID2 takes effect, all of it */
	bool cpuid_signature;	/* our signature leaf reached the guest */
	bool cpuid_passthrough; /* a bit we cleared came back (PVM) */
	bool cpuid_telling;	/* the host has RDRAND or RDSEED to leak */
	bool cpl0_native;	/* the CPL0 loop ran at native speed (report) */
	double cpl0_ns_per_iter; /* dec+jnz loop at CPL0 */
	double exit_us;		 /* port-I/O exit round trip */
	bool pvm_module;	 /* /sys/module/kvm_pvm exists (decides only
				    when the CPUID experiment cannot) */
};

const char *cc_platform_name(enum cc_platform_kind k);
/* What the VMM cannot control on this platform (NULL-terminated): listed
 * in every run's report, never hidden. */
const char *const *cc_platform_limits(enum cc_platform_kind k);

/*
 * Is this process itself a guest of QEMU's TCG (hypervisor signature
 * "TCGTCGTCGTCG")?  That is the nested test platform of `make test-hw`,
 * whose emulated CPU has quirks real CPUs lack (cc_platform_tr_type()).
 */
bool cc_platform_host_is_tcg(void);

/*
 * The TR type to give KVM_SET_SREGS for a saved TR of type `type`.  KVM
 * reports a loaded TSS as busy (11), as real CPUs hold it, and real CPUs
 * accept it back.  QEMU's TCG checks user-space port I/O against the
 * TSS's I/O bitmap only when the cached TR type is 9 (what its own LTR
 * leaves) and raises #GP otherwise, so a guest restored from a snapshot
 * there could not use iopl() any more (measured: sdkcheck over the PIO
 * transport died of SIGSEGV after every boot-cache restore, never after
 * a cold boot).  Under TCG only, a busy 64-bit TSS is handed back as
 * available; AMD's VMRUN does not check the type, and the guest cannot
 * observe it.
 */
uint8_t cc_platform_tr_type(uint8_t type);

/* Runs the probe guests (~50 ms on PVM, less on hardware). */
int cc_platform_probe(struct cc_platform *p, struct cc_err *err);

#endif
