/*
 * CPUID as the guest sees it: the features that leak host time or host
 * randomness must be hidden.  Checked at CPL0 (emulated on PVM, where
 * KVM's CPUID table applies) and reported at CPL3 (native on PVM, where
 * the host's values show through: a platform limit).
 */
#include "micro.h"

struct regs {
	uint32_t a, b, c, d;
};

static struct regs cpuid(uint32_t leaf, uint32_t sub)
{
	struct regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
			 : "a"(leaf), "c"(sub));
	return r;
}

/* Returns a bit mask of the leaks seen: 0 = all hidden.  The exit status
 * is the CPL0 mask. */
static long leaks(long arg)
{
	(void)arg;
	long bad = 0;
	struct regs l1 = cpuid(1, 0);
	if (l1.c & (1u << 30))
		bad |= 1; /* RDRAND */
	if (l1.c & (1u << 24))
		bad |= 2; /* TSC-deadline */
	if (l1.c & (1u << 31))
		bad |= 4; /* hypervisor present */
	if (cpuid(0, 0).a >= 7 && (cpuid(7, 0).b & (1u << 18)))
		bad |= 8; /* RDSEED */
	uint32_t ext = cpuid(0x80000000, 0).a;
	if (ext >= 0x80000001 && (cpuid(0x80000001, 0).d & (1u << 27)))
		bad |= 16; /* RDTSCP */
	if (ext >= 0x80000007 && (cpuid(0x80000007, 0).d & (1u << 8)))
		bad |= 32; /* invariant TSC */
	struct regs kvm = cpuid(0x40000000, 0);
	if (kvm.b == 0x4b4d564b) /* "KVMK" of "KVMKVMKVM" */
		bad |= 64;
	return bad;
}

void micro_main(void)
{
	long k = rt_kernel(leaks, 0);
	rt_puts("cpl0 leaks: ");
	rt_put_hex((uint64_t)k);
	rt_puts("\ncpl3 leaks: ");
	rt_put_hex((uint64_t)leaks(0));
	rt_puts("\n");
	rt_exit((uint32_t)k); /* the host test judges per platform */
}
