/*
 * vCPU set-up: the CPUID table the guest sees and the register state at
 * the 64-bit entry point.
 */
#ifndef CC_CPU_H
#define CC_CPU_H

#include <stdint.h>

#include "err.h"

/*
 * Installs the filtered CPUID table: KVM's supported set minus what
 * would let the guest observe the host (RDRAND/RDSEED, RDTSCP,
 * TSC-deadline, invariant TSC, x2APIC/APIC, the KVM paravirt leaves,
 * hypervisor bit).  On PVM the table is accepted but ignored; the guest
 * command line does the hiding there (see docs/DETERMINISM.md).
 * `signature` (12 bytes or NULL) replaces leaf 0x40000000's vendor
 * string - the platform probe uses it to see whether filtering works.
 */
int cc_cpu_set_cpuid(int kvm_fd, int vcpu_fd, const char *signature,
		     struct cc_err *err);

/* Long mode, paging on (boot page tables), RIP = entry, RSI = zero page. */
int cc_cpu_set_boot_state(int vcpu_fd, uint64_t entry, uint64_t zero_page,
			  struct cc_err *err);

#endif
