/* Where the fix-up and spin reports read guest code: the paging modes
 * cc_fixup_code_gpa walks (4-level long mode, or none) and refuses. */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <string.h>

#include "base/mem.h"
#include "vmm/fixup.h"

#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD   0x3000ull
#define PT   0x4000ull
#define CODE 0x7000ull /* the guest-physical page the VA maps to */
#define VA   0x555555554000ull

static struct cc_mem mem;

static void put(uint64_t table, uint64_t va, int level, uint64_t next)
{
	uint64_t pte = next | 3; /* present, writable */
	unsigned idx = (unsigned)(va >> (12 + 9 * level)) & 511;
	cr_assert(cc_mem_write(&mem, table + idx * 8, &pte, 8));
}

static void setup(void)
{
	struct cc_err e;
	cr_assert_eq(cc_mem_init(&mem, CC_MEM_MIN, &e), 0, "%s", e.msg);
	put(PML4, VA, 3, PDPT);
	put(PDPT, VA, 2, PD);
	put(PD, VA, 1, PT);
	put(PT, VA, 0, CODE);
}

static void teardown(void)
{
	cc_mem_free(&mem);
}

TestSuite(fixup, .init = setup, .fini = teardown);

static struct kvm_sregs long_mode(void)
{
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = (1ull << 31) | 1;	     /* PG, PE */
	s.cr4 = 1ull << 5;		     /* PAE */
	s.efer = (1ull << 10) | (1ull << 8); /* LMA, LME */
	s.cr3 = PML4;
	s.cs.l = 1;
	return s;
}

Test(fixup, long_mode_walks_four_levels_and_ignores_the_cs_base)
{
	struct kvm_sregs s = long_mode();
	s.cs.base = 0x1000; /* a 64-bit CS has no base: it must not count */
	uint64_t gpa = 0;
	cr_assert(cc_fixup_code_gpa(&mem, &s, VA + 0x123, &gpa));
	cr_assert_eq(gpa, CODE + 0x123);
	cr_assert_not(cc_fixup_code_gpa(&mem, &s, VA + 0x1000, &gpa),
		      "an unmapped page has no address");
}

Test(fixup, paging_modes_it_does_not_walk_are_refused)
{
	uint64_t gpa;
	struct kvm_sregs s = long_mode();
	s.cr4 |= 1ull << 12; /* LA57: five levels */
	cr_assert_not(cc_fixup_code_gpa(&mem, &s, VA, &gpa));
	s = long_mode();
	s.efer = 0; /* 32-bit paging with PAE */
	cr_assert_not(cc_fixup_code_gpa(&mem, &s, VA, &gpa));
	s = long_mode();
	s.cr4 = 0; /* long mode needs PAE: a state KVM should never give */
	cr_assert_not(cc_fixup_code_gpa(&mem, &s, VA, &gpa));
}

Test(fixup, without_paging_the_address_is_the_cs_base_plus_ip)
{
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cs.base = 0xf0000;
	uint64_t gpa = 0;
	cr_assert(cc_fixup_code_gpa(&mem, &s, 0xfff0, &gpa));
	cr_assert_eq(gpa, 0xffff0);
}
