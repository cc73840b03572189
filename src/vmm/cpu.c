#include "cpu.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot.h"
#include "chaoscontrol/protocol.h"

#define MAX_CPUID 256

/* Leaf 1 ECX / EDX bits. */
#define L1_ECX_X2APIC	    (1u << 21)
#define L1_ECX_TSC_DEADLINE (1u << 24)
#define L1_ECX_RDRAND	    (1u << 30)
#define L1_ECX_HYPERVISOR   (1u << 31)
#define L1_EDX_APIC	    (1u << 9)
/* Leaf 7.0 EBX. */
#define L7_EBX_RDSEED (1u << 18)
/* Leaf 7.0: AVX2 and the AVX-512 family. */
#define L7_EBX_AVX                                                             \
	(1u << 5 | 1u << 16 | 1u << 17 | 1u << 21 | 1u << 26 | 1u << 27 |      \
	 1u << 28 | 1u << 30 | 1u << 31)
#define L7_ECX_AVX (1u << 1 | 1u << 6 | 1u << 11 | 1u << 12 | 1u << 14)
#define L7_EDX_AVX (1u << 2 | 1u << 3 | 1u << 8 | 1u << 23)
/* Leaf 0xD.0 EAX: XCR0 bits 5-7, the AVX-512 state (opmask, ZMM). */
#define LD_EAX_AVX512 (7u << 5)
/* Fixed signatures (leaf 1 EAX): Skylake-SP 6/0x55/4, Zen 2 0x17/0x31/0. */
#define SIG_INTEL 0x00050654u
#define SIG_AMD	  0x00830f10u
/* Leaf 0x80000001 EDX, 0x80000007 EDX. */
#define LE1_EDX_RDTSCP	      (1u << 27)
#define LE7_EDX_INVARIANT_TSC (1u << 8)

static void filter_entry(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 1:
		e->ecx &= ~(L1_ECX_X2APIC | L1_ECX_TSC_DEADLINE |
			    L1_ECX_RDRAND | L1_ECX_HYPERVISOR);
		e->edx &= ~L1_EDX_APIC; /* no LAPIC: the PIC is ours */
		break;
	case 7:
		if (e->index == 0)
			e->ebx &= ~L7_EBX_RDSEED;
		break;
	case 0x15: /* TSC/crystal ratio: the nominal TSC of the clock page */
		e->eax = 1;
		e->ebx = 1;
		e->ecx = CC_TSC_KHZ * 1000u;
		break;
	case 0x16: /* base, max and bus frequency in MHz */
		e->eax = e->ebx = CC_TSC_KHZ / 1000u;
		e->ecx = 100;
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

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn,
				     uint32_t index)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static void set_signature(struct kvm_cpuid2 *c, const char *sig)
{
	struct kvm_cpuid_entry2 *e = find(c, 0x40000000, 0);
	if (!e && c->nent < MAX_CPUID) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000000;
	}
	if (!e)
		return;
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

static void hide_avx(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e = find(c, 7, 0);
	if (e) {
		e->ebx &= ~L7_EBX_AVX;
		e->ecx &= ~L7_ECX_AVX;
		e->edx &= ~L7_EDX_AVX;
	}
	if ((e = find(c, 0xd, 0)))
		e->eax &= ~LD_EAX_AVX512;
}

/* Same vendor (changing it would send the kernel down the wrong CPU's
 * code paths), fixed family/model/stepping and brand string. */
static void fix_model(struct kvm_cpuid2 *c)
{
	static const char brand[48] = "ChaosControl virtual CPU";
	struct kvm_cpuid_entry2 *v = find(c, 0, 0), *e = find(c, 1, 0);
	bool amd = v && v->ebx == 0x68747541; /* "Auth"enticAMD */
	if (e)
		e->eax = amd ? SIG_AMD : SIG_INTEL;
	for (uint32_t i = 0; i < 3; i++) {
		if (!(e = find(c, 0x80000002 + i, 0)))
			continue;
		memcpy(&e->eax, brand + 16 * i, 4);
		memcpy(&e->ebx, brand + 16 * i + 4, 4);
		memcpy(&e->ecx, brand + 16 * i + 8, 4);
		memcpy(&e->edx, brand + 16 * i + 12, 4);
	}
}

int cc_cpu_set_cpuid(int kvm_fd, int vcpu_fd, const struct cc_cpuid_opts *o,
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
	if (o->signature)
		set_signature(c, o->signature);
	if (o->hide_avx)
		hide_avx(c);
	if (o->fixed_model)
		fix_model(c);
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

#define CR0_PE	 0x1ull
#define CR0_ET	 0x10ull
#define CR0_NE	 0x20ull
#define CR0_PG	 0x80000000ull
#define CR4_PAE	 0x20ull
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
