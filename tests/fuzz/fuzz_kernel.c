/*
 * Fuzz target: kernel images and the boot set-up.  A user's --kernel
 * file is arbitrary bytes, and so are its command line and initrd:
 * parsing the image and laying out the boot (kernel, initrd, command
 * line, zero page, GDT, page tables, RNG seed) must never read or write
 * out of bounds, whatever the header claims.  Each input starts from
 * zeroed RAM.
 *
 * Input: {command line length, initrd length lo, hi, mid}, the command
 * line, then the kernel image; the initrd is the image's first bytes
 * (its length may exceed them: then as many as there are).
 */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "base/mem.h"
#include "seed.h"
#include "vmm/boot.h"
#include "vmm/kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct cc_mem mem;
	struct cc_err err;
	if (!mem.host && cc_mem_init(&mem, CC_MEM_MIN, &err))
		return 0;
	if (madvise(mem.host, mem.size, MADV_DONTNEED))
		return 0;
	if (len < 4)
		return 0;
	size_t clen = data[0];
	size_t ilen = (size_t)data[1] | (size_t)data[2] << 8 |
		      (size_t)(data[3] & 0x3f) << 16;
	data += 4;
	len -= 4;
	if (clen > len)
		clen = len;
	char cmdline[256];
	memcpy(cmdline, data, clen);
	cmdline[clen] = 0;
	data += clen;
	len -= clen;
	if (ilen > len)
		ilen = len;
	struct cc_kernel k;
	if (cc_kernel_parse(&k, data, len, &err))
		return 0;
	static const uint8_t seed[CC_BOOT_RNG_SEED_LEN];
	struct cc_boot_info info;
	cc_boot_setup(&mem, &k, ilen ? data : NULL, ilen, cmdline, seed, &info,
		      &err);
	return 0;
}

/* The seed: a command line, a 64-byte initrd and a one-segment ELF
 * loaded at 1 MiB, the shape of a micro-guest. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t in[4 + 16 + 512];
	static const char cmdline[16] = "console=ttyS0 q";
	in[0] = sizeof(cmdline), in[1] = 64;
	memcpy(in + 4, cmdline, sizeof(cmdline));
	uint8_t *elf = in + 4 + sizeof(cmdline);
	Elf64_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_entry = 0x100000,
			 .e_phoff = sizeof(eh),
			 .e_ehsize = sizeof(eh),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 1};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Phdr ph = {.p_type = PT_LOAD,
			 .p_flags = PF_R | PF_X,
			 .p_vaddr = 0x100000,
			 .p_paddr = 0x100000,
			 .p_filesz = 512,
			 .p_memsz = 4096,
			 .p_align = 4096};
	memcpy(elf, &eh, sizeof(eh));
	memcpy(elf + sizeof(eh), &ph, sizeof(ph));
	cc_fuzz_write_seed_n(*argc, *argv, in, sizeof(in));
	return 0;
}
