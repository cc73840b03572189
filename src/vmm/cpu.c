#include "cpu.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot.h"

#define MAX_CPUID 256

/* Leaf 1 ECX / EDX bits. */
#define L1_ECX_X2APIC (1u << 21)
#define L1_ECX_TSC_DEADLINE (1u << 24)
#define L1_ECX_RDRAND (1u << 30)
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_APIC (1u << 9)
/* Leaf 7.0 EBX. */
#define L7_EBX_RDSEED (1u << 18)
/* Leaf 0x80000001 EDX, 0x80000007 EDX. */
#define LE1_EDX_RDTSCP (1u << 27)
#define LE7_EDX_INVARIANT_TSC (1u << 8)

static void filter_entry(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		e->ecx &= ~(L1_ECX_X2APIC | L1_ECX_TSC_DEADLINE | L1_ECX_RDRAND |
			    L1_ECX_HYPERVISOR);
		e->edx &= ~L1_EDX_APIC; /* no LAPIC: the PIC is ours */
		break;
	case 7:
		if (e->index == 0)
			e->ebx &= ~L7_EBX_RDSEED;
		break;
	case 0x80000001:
		e->edx &= ~LE1_EDX_RDTSCP;
		break;
	case 0x80000007:
		e->edx &= ~LE7_EDX_INVARIANT_TSC;
		break;
	default:
		break;
	}
}

static void set_signature(struct kvm_cpuid2 *c, const char *sig)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != 0x40000000)
			continue;
		memcpy(&e->ebx, sig, 4);
		memcpy(&e->ecx, sig + 4, 4);
		memcpy(&e->edx, sig + 8, 4);
		return;
	}
	if (c->nent < MAX_CPUID) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000000;
		memcpy(&e->ebx, sig, 4);
		memcpy(&e->ecx, sig + 4, 4);
		memcpy(&e->edx, sig + 8, 4);
	}
}

int cc_cpu_set_cpuid(int kvm_fd, int vcpu_fd, const char *signature,
		     struct cc_err *err)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    MAX_CPUID * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	if (!c)
		return cc_err_set(err, "out of memory");
	c->nent = MAX_CPUID;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return cc_err_errno(err, "KVM_GET_SUPPORTED_CPUID");
	}
	/* Drop the KVM paravirt leaves entirely: no kvmclock, no PV ops. */
	unsigned n = 0;
	for (unsigned i = 0; i < c->nent; i++) {
		if (c->entries[i].function >= 0x40000000 &&
		    c->entries[i].function < 0x40010000)
			continue;
		c->entries[n] = c->entries[i];
		filter_entry(&c->entries[n]);
		n++;
	}
	c->nent = n;
	if (signature)
		set_signature(c, signature);
	int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	if (rc < 0)
		return cc_err_errno(err, "KVM_SET_CPUID2");
	return 0;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

int cc_cpu_set_boot_state(int vcpu_fd, uint64_t entry, uint64_t zero_page,
			  struct cc_err *err)
{
	struct kvm_sregs sr;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return cc_err_errno(err, "KVM_GET_SREGS");
	flat_seg(&sr.cs, CC_BOOT_CS, 0xb, 1);
	flat_seg(&sr.ds, CC_BOOT_DS, 0x3, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.gdt.base = CC_BOOT_GDT;
	sr.gdt.limit = 4 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sr.cr3 = CC_BOOT_PML4;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return cc_err_errno(err, "KVM_SET_SREGS");

	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = entry;
	r.rsi = zero_page;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return cc_err_errno(err, "KVM_SET_REGS");
	return 0;
}
