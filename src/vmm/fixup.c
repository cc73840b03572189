#include "fixup.h"

#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define RFLAGS_AC (1ull << 18)
#define CR0_PG	  (1ull << 31)
#define CR4_PAE	  (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define EFER_LMA  (1ull << 10)
#define CR0_MP	  (1ull << 1)
#define CR0_TS	  (1ull << 3)
#define BP_VECTOR 3
#define NM_VECTOR 7
#define MF_VECTOR 16
#define FSW_ES	  (1u << 7) /* x87 error summary: an unmasked exception */

static const char *const names[CC_FIXUP__COUNT] = {
	[CC_FIXUP_INT3] = "int3->#BP",
	[CC_FIXUP_CLAC] = "clac",
	[CC_FIXUP_STAC] = "stac",
	[CC_FIXUP_FWAIT] = "fwait",
};

const char *cc_fixup_name(enum cc_fixup_kind k)
{
	return k < CC_FIXUP__COUNT ? names[k] : "?";
}

bool cc_fixup_code_gpa(const struct cc_mem *mem, const struct kvm_sregs *s,
		       uint64_t ip, uint64_t *gpa)
{
	if (!(s->cr0 & CR0_PG)) { /* real or protected mode, flat */
		*gpa = (s->cs.base + ip) & 0xffffffffull;
		return true;
	}
	/* cc_mem_translate walks 4-level long-mode tables, nothing else:
	 * 32-bit, PAE-only and 5-level paging are not read as if they were. */
	if (!(s->efer & EFER_LMA) || !(s->cr4 & CR4_PAE) || (s->cr4 & CR4_LA57))
		return false;
	/* 64-bit code ignores the CS base; compatibility mode does not. */
	uint64_t lin =
		s->cs.l ? ip : (s->cs.base + (uint32_t)ip) & 0xffffffffull;
	return cc_mem_translate(mem, s->cr3, lin, gpa);
}

size_t cc_fixup_fetch(int vcpu_fd, const struct cc_mem *mem, uint8_t *bytes,
		      size_t max, uint64_t *rip, unsigned *cpl)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return 0;
	*rip = r.rip;
	*cpl = s.cs.selector & 3;
	size_t n = 0;
	for (uint64_t gpa; n < max; n++)
		if (!cc_fixup_code_gpa(mem, &s, r.rip + n, &gpa) ||
		    !cc_mem_read(mem, gpa, &bytes[n], 1))
			break;
	return n;
}

/* Moves RIP past the instruction (len bytes) and, if vector >= 0,
 * delivers that exception (no error code) at the new RIP. */
static int finish(int vcpu_fd, unsigned len, int vector, struct cc_err *err)
{
	struct kvm_regs r;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0)
		return cc_err_errno(err, "fix-up: KVM_GET_REGS");
	r.rip += len;
	if (len && ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return cc_err_errno(err, "fix-up: KVM_SET_REGS");
	if (vector < 0)
		return 0;
	struct kvm_vcpu_events ev;
	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return cc_err_errno(err, "fix-up: KVM_GET_VCPU_EVENTS");
	ev.flags = 0;
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)vector;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return cc_err_errno(err, "fix-up: injecting exception %d",
				    vector);
	return 0;
}

/* #BP is a trap: the frame's RIP is the byte after the int3. */
static int inject_bp(int vcpu_fd, struct cc_err *err)
{
	return finish(vcpu_fd, 1, BP_VECTOR, err) ? -1 : CC_FIXUP_INT3;
}

/*
 * FWAIT: #NM if CR0.TS and CR0.MP are both set, else #MF if an unmasked
 * x87 exception is pending (FSW.ES; CR0.NE is always set by us), else
 * nothing.  Both exceptions are faults: RIP stays on the fwait.
 */
static int do_fwait(int vcpu_fd, struct cc_err *err)
{
	struct kvm_sregs s;
	struct kvm_fpu fpu;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_FPU, &fpu) < 0)
		return cc_err_errno(err, "fix-up: reading FPU state");
	int rc;
	if ((s.cr0 & CR0_TS) && (s.cr0 & CR0_MP))
		rc = finish(vcpu_fd, 0, NM_VECTOR, err);
	else if (fpu.fsw & FSW_ES)
		rc = finish(vcpu_fd, 0, MF_VECTOR, err);
	else
		rc = finish(vcpu_fd, 1, -1, err);
	return rc ? -1 : CC_FIXUP_FWAIT;
}

static int set_ac(int vcpu_fd, int on, struct cc_err *err)
{
	struct kvm_regs r;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0)
		return cc_err_errno(err, "fix-up: KVM_GET_REGS");
	r.rflags = on ? (r.rflags | RFLAGS_AC) : (r.rflags & ~RFLAGS_AC);
	r.rip += 3;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return cc_err_errno(err, "fix-up: KVM_SET_REGS");
	return on ? CC_FIXUP_STAC : CC_FIXUP_CLAC;
}

int cc_fixup_apply(int vcpu_fd, const struct cc_mem *mem,
		   const struct cc_symtab *syms, uint32_t suberror,
		   struct cc_err *err)
{
	uint8_t b[15];
	uint64_t rip = 0;
	unsigned cpl = 0;
	size_t n = cc_fixup_fetch(vcpu_fd, mem, b, sizeof(b), &rip, &cpl);
	if (suberror == KVM_INTERNAL_ERROR_EMULATION && n >= 1 && cpl == 0) {
		if (b[0] == 0xcc)
			return inject_bp(vcpu_fd, err);
		if (b[0] == 0x9b)
			return do_fwait(vcpu_fd, err);
		if (n >= 3 && b[0] == 0x0f && b[1] == 0x01 &&
		    (b[2] == 0xca || b[2] == 0xcb))
			return set_ac(vcpu_fd, b[2] == 0xcb, err);
	}
	char sym[160], hex[3 * 15 + 1] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", b[i]);
	if (n)
		hex[3 * n - 1] = 0;
	cc_symtab_format(syms, rip, sym, sizeof(sym));
	return cc_err_set(
		err,
		"KVM internal error (suberror %u%s) at CPL%u "
		"RIP 0x%llx (%s), instruction bytes: %s",
		suberror,
		suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure"
							 : "",
		cpl, (unsigned long long)rip, sym, n ? hex : "unreadable");
}
