/*
 * Fuzz target: ELF files read for names.  The kernel's symbols and, when
 * the watchdog fired, the image's programs and libraries (the code
 * locator) are files the user hands us; loading their symbols and
 * searching their executable segments must stay in bounds whatever the
 * headers claim.
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/codeloc.h"
#include "seed.h"
#include "vmm/symtab.h"

/* The seed: an executable segment of 64 code bytes, a .symtab naming a
 * function in it and its .strtab, so the fuzzer starts from a file
 * with every part the readers walk. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char strtab[] = "\0spin\0";
	static uint8_t elf[1024];
	Elf64_Ehdr eh = {.e_type = ET_DYN,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 1;
	size_t code = sizeof(eh) + sizeof(Elf64_Phdr);
	size_t sym = code + 64, str = sym + 2 * sizeof(Elf64_Sym);
	size_t sh = (str + sizeof(strtab) + 7) & ~(size_t)7;
	eh.e_shoff = sh;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	Elf64_Phdr ph = {.p_type = PT_LOAD,
			 .p_flags = PF_R | PF_X,
			 .p_offset = 0,
			 .p_vaddr = 0,
			 .p_filesz = code + 64,
			 .p_memsz = code + 64,
			 .p_align = 4096};
	Elf64_Sym syms[2] = {{0},
			     {.st_name = 1,
			      .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
			      .st_value = code,
			      .st_size = 64}};
	Elf64_Shdr shs[3] = {{0},
			     {.sh_type = SHT_SYMTAB,
			      .sh_offset = sym,
			      .sh_size = sizeof(syms),
			      .sh_link = 2,
			      .sh_entsize = sizeof(Elf64_Sym)},
			     {.sh_type = SHT_STRTAB,
			      .sh_offset = str,
			      .sh_size = sizeof(strtab)}};
	memcpy(elf, &eh, sizeof(eh));
	memcpy(elf + sizeof(eh), &ph, sizeof(ph));
	for (unsigned i = 0; i < 64; i++)
		elf[code + i] = (uint8_t)(0x90 + i % 7); /* not all alike */
	memcpy(elf + sym, syms, sizeof(syms));
	memcpy(elf + str, strtab, sizeof(strtab));
	memcpy(elf + sh, shs, sizeof(shs));
	cc_fuzz_write_seed_n(*argc, *argv, elf, sh + sizeof(shs));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	/* A copy of exactly len bytes: ASan sees any read past the file. */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, len);
	struct cc_codeloc_file f = {.name = "fuzz", .data = copy, .len = len};
	cc_symtab_load(&f.syms, copy, len);
	char buf[256];
	for (size_t i = 0; i < f.syms.n; i++)
		cc_symtab_format(&f.syms, f.syms.sym[i].addr + 1, buf,
				 sizeof(buf));
	cc_symtab_format(&f.syms, len, buf, sizeof(buf));
	/* The file's own last 32 bytes, as if a guest ran them there. */
	if (len >= 32) {
		struct cc_codeloc l = {.v = &f, .n = 1, .cap = 1};
		cc_codeloc_name(&l, 0x400000 + len - 32, copy + len - 32, 32,
				buf, sizeof(buf));
	}
	cc_symtab_free(&f.syms);
	free(copy);
	return 0;
}
