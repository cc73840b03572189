/*
 * Instruction fix-ups for PVM's emulator gaps.
 *
 * On PVM hosts guest kernel code is emulated and a few instructions are
 * not implemented: KVM returns KVM_EXIT_INTERNAL_ERROR (emulation
 * failure).  For the instructions whose architectural effect is small and
 * exactly known we perform it here and resume; everything else is a loud
 * failure naming the RIP, its kernel symbol and the instruction bytes.
 * Never guess: decode the bytes, handle the known ones exactly.
 */
#ifndef CC_FIXUP_H
#define CC_FIXUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/mem.h"
#include "symtab.h"

enum cc_fixup_kind {
	CC_FIXUP_INT3,	/* deliver #BP ourselves */
	CC_FIXUP_CLAC,	/* clear RFLAGS.AC */
	CC_FIXUP_STAC,	/* set RFLAGS.AC */
	CC_FIXUP_FWAIT, /* x87 wait: #NM, #MF or nothing, as the SDM says */
	CC_FIXUP__COUNT
};

const char *cc_fixup_name(enum cc_fixup_kind k);

/*
 * Called on KVM_EXIT_INTERNAL_ERROR.  Returns the kind of fix-up applied
 * (the vCPU state is updated and the run may continue), or -1 with err
 * describing the failure.
 */
int cc_fixup_apply(int vcpu_fd, const struct cc_mem *mem,
		   const struct cc_symtab *syms, uint32_t suberror,
		   struct cc_err *err);

/* The guest-physical address of the code byte at `ip` (an offset in
 * CS) under the vCPU's special registers s; false where it is unmapped
 * or the paging mode is one we do not walk (anything but 4-level long
 * mode, or no paging). */
struct kvm_sregs;
bool cc_fixup_code_gpa(const struct cc_mem *mem, const struct kvm_sregs *s,
		       uint64_t ip, uint64_t *gpa);

/* Reads up to `max` instruction bytes at the vCPU's RIP; returns count. */
size_t cc_fixup_fetch(int vcpu_fd, const struct cc_mem *mem, uint8_t *bytes,
		      size_t max, uint64_t *rip, unsigned *cpl);

#endif
