/*
 * Fuzz target: the guest page walk behind the fix-up and spin reports.
 * Every page-table entry and every control register is the guest's to
 * choose; the walk (cc_fixup_code_gpa, cc_mem_translate) must refuse
 * what it does not walk and never read outside guest RAM.
 */
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include "vmm/fixup.h"

/* Input: the registers, then bytes laid at guest-physical 0. */
struct regs {
	uint64_t cr0, cr3, cr4, efer, cs_base, ip;
	uint8_t cs_l;
} __attribute__((packed));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct cc_mem mem;
	struct cc_err err;
	if (!mem.host && cc_mem_init(&mem, CC_MEM_MIN, &err))
		return 0;
	struct regs r;
	if (len < sizeof(r))
		return 0;
	memcpy(&r, data, sizeof(r));
	size_t n = len - sizeof(r);
	if (n > 1 << 16)
		n = 1 << 16;
	memset(mem.host, 0, 1 << 16); /* no state from the last input */
	memcpy(mem.host, data + sizeof(r), n);
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = r.cr0;
	s.cr3 = r.cr3;
	s.cr4 = r.cr4;
	s.efer = r.efer;
	s.cs.base = r.cs_base;
	s.cs.l = r.cs_l & 1;
	uint8_t b[16];
	for (unsigned i = 0; i < sizeof(b); i++) {
		uint64_t gpa;
		if (!cc_fixup_code_gpa(&mem, &s, r.ip + i, &gpa) ||
		    !cc_mem_read(&mem, gpa, &b[i], 1))
			break;
	}
	return 0;
}
