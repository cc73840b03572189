/*
 * vCPU set-up: the CPUID table the guest sees and the register state at
 * the 64-bit entry point.
 */
#ifndef CC_CPU_H
#define CC_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"

struct cc_cpuid_opts {
	/* Replaces leaf 0x40000000's vendor string (12 bytes): the platform
	 * probe uses it to see whether filtering takes effect. */
	const char *signature;
	/* Hide AVX2 and the AVX-512 family (and their XSAVE state), so a
	 * recording replays on hosts without them. */
	bool hide_avx;
	/* Report a fixed family/model/stepping and brand string for the
	 * host's vendor instead of the host's own. */
	bool fixed_model;
};

/*
 * Installs the filtered CPUID table: KVM's supported set minus what
 * would let the guest observe the host (RDRAND/RDSEED, RDTSCP,
 * TSC-deadline, invariant TSC, x2APIC/APIC, the KVM paravirt leaves,
 * hypervisor bit), then the options.  On PVM only emulated (CPL0) code
 * sees the table; the guest command line does the hiding for the kernel
 * and CPL3 code sees the host (docs/DETERMINISM.md).
 */
int cc_cpu_set_cpuid(int kvm_fd, int vcpu_fd, const struct cc_cpuid_opts *o,
		     struct cc_err *err);

/* Long mode, paging on (boot page tables), RIP = entry, RSI = zero page. */
int cc_cpu_set_boot_state(int vcpu_fd, uint64_t entry, uint64_t zero_page,
			  struct cc_err *err);

#endif
