/* Kernel image parsing and placement: ELF vmlinux and bzImage headers. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kernel.h"
#include "vmm/symtab.h"
#include "base/mem.h"

#define LOAD 0x1000000ull

/* A one-segment ELF64 x86-64 image with `payload` bytes of code. */
static size_t make_elf(uint8_t *buf, size_t payload, uint64_t memsz)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_entry = LOAD + 0x10;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_offset = 0x1000;
	ph.p_paddr = LOAD;
	ph.p_filesz = payload;
	ph.p_memsz = memsz;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memset(buf + 0x1000, 0x90, payload);
	return 0x1000 + payload;
}

/* The first 0x300 bytes of a bzImage with the fields we read. */
static size_t make_bzimage(uint8_t *buf, uint16_t version, uint16_t xlf,
			   size_t payload)
{
	memset(buf, 0, 0x1000 + payload);
	buf[0x1f1] = 3; /* setup_sects */
	memcpy(buf + 0x202, "HdrS", 4);
	memcpy(buf + 0x206, &version, 2);
	buf[0x200] = 0xeb; /* jmp */
	buf[0x201] = 0x6a; /* header ends at 0x26c */
	uint32_t initrd_max = 0x7fffffff, align = 0x200000, cmdsz = 2047;
	uint32_t init_size = 0x800000;
	uint64_t pref = LOAD;
	memcpy(buf + 0x22c, &initrd_max, 4);
	memcpy(buf + 0x230, &align, 4);
	memcpy(buf + 0x236, &xlf, 2);
	memcpy(buf + 0x238, &cmdsz, 4);
	memcpy(buf + 0x258, &pref, 8);
	memcpy(buf + 0x260, &init_size, 4);
	return 4 * 512 + payload;
}

static uint8_t img[0x20000];

Test(kernel, elf_parses)
{
	struct cc_kernel k;
	struct cc_err e;
	size_t n = make_elf(img, 0x100, 0x2000);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), 0, "%s", e.msg);
	cr_assert_eq(k.kind, CC_KERNEL_ELF);
	cr_assert_eq(k.entry, LOAD + 0x10);
	cr_assert_eq(k.nseg, 1);
	cr_assert_eq(k.end, LOAD + 0x2000);
}

Test(kernel, elf_places_and_zero_fills)
{
	struct cc_kernel k;
	struct cc_mem m;
	struct cc_err e;
	size_t n = make_elf(img, 0x100, 0x2000);
	cr_assert_eq(cc_mem_init(&m, 32 << 20, &e), 0, "%s", e.msg);
	memset(m.host + LOAD, 0xaa, 0x2000);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), 0);
	cr_assert_eq(cc_kernel_place(&k, &m, &e), 0, "%s", e.msg);
	cr_assert_eq(m.host[LOAD], 0x90);
	cr_assert_eq(m.host[LOAD + 0xff], 0x90);
	cr_assert_eq(m.host[LOAD + 0x100], 0);
	cr_assert_eq(m.host[LOAD + 0x1fff], 0);
	cc_mem_free(&m);
}

Test(kernel, elf_too_big_for_ram)
{
	struct cc_kernel k;
	struct cc_mem m;
	struct cc_err e;
	size_t n = make_elf(img, 0x100, 64 << 20);
	cr_assert_eq(cc_mem_init(&m, 32 << 20, &e), 0);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), 0);
	cr_assert_eq(cc_kernel_place(&k, &m, &e), -1);
	cr_assert(strstr(e.msg, "needs 80 MiB of guest RAM but --mem is 32 "
				"MiB"),
		  "%s", e.msg);
	cc_mem_free(&m);
}

Test(kernel, elf_truncated)
{
	struct cc_kernel k;
	struct cc_err e;
	size_t n = make_elf(img, 0x100, 0x100);
	cr_assert_eq(cc_kernel_parse(&k, img, 40, &e), -1);
	cr_assert(strstr(e.msg, "truncated ELF header"), "%s", e.msg);
	cr_assert_eq(cc_kernel_parse(&k, img, 0x60, &e), -1);
	cr_assert(strstr(e.msg, "truncated ELF program headers"), "%s", e.msg);
	cr_assert_eq(cc_kernel_parse(&k, img, n - 1, &e), -1);
	cr_assert(strstr(e.msg, "past the end of the file"), "%s", e.msg);
}

Test(kernel, elf_wrong_machine_and_entry)
{
	struct cc_kernel k;
	struct cc_err e;
	size_t n = make_elf(img, 0x100, 0x100);
	img[18] = EM_AARCH64;
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), -1);
	cr_assert(strstr(e.msg, "not x86-64"), "%s", e.msg);
	n = make_elf(img, 0x100, 0x100);
	uint64_t bad = 0x5000000;
	memcpy(img + offsetof(Elf64_Ehdr, e_entry), &bad, 8);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), -1);
	cr_assert(strstr(e.msg, "entry 0x5000000"), "%s", e.msg);
}

Test(kernel, neither_elf_nor_bzimage)
{
	struct cc_kernel k;
	struct cc_err e;
	memset(img, 'x', 4096);
	cr_assert_eq(cc_kernel_parse(&k, img, 4096, &e), -1);
	cr_assert(strstr(e.msg, "not an ELF vmlinux nor a bzImage"), "%s",
		  e.msg);
	cr_assert_eq(cc_kernel_parse(&k, img, 0, &e), -1);
}

Test(kernel, bzimage_parses)
{
	struct cc_kernel k;
	struct cc_err e;
	size_t n = make_bzimage(img, 0x020f, 1, 0x4000);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), 0, "%s", e.msg);
	cr_assert_eq(k.kind, CC_KERNEL_BZIMAGE);
	cr_assert_eq(k.entry, LOAD + 0x200);
	cr_assert_eq(k.seg[0].offset, 4 * 512);
	cr_assert_eq(k.seg[0].filesz, 0x4000);
	cr_assert_eq(k.seg[0].memsz, 0x800000, "init_size reserves RAM");
	cr_assert_eq(k.setup_hdr_len, 0x26c - 0x1f1);
	cr_assert_eq(k.cmdline_max, 2047);
}

Test(kernel, bzimage_rejects_old_or_32bit)
{
	struct cc_kernel k;
	struct cc_err e;
	size_t n = make_bzimage(img, 0x0206, 1, 0x4000);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), -1);
	cr_assert(strstr(e.msg, "too old"), "%s", e.msg);
	n = make_bzimage(img, 0x020f, 0, 0x4000);
	cr_assert_eq(cc_kernel_parse(&k, img, n, &e), -1);
	cr_assert(strstr(e.msg, "no 64-bit entry"), "%s", e.msg);
}

Test(kernel, bzimage_truncated)
{
	struct cc_kernel k;
	struct cc_err e;
	make_bzimage(img, 0x020f, 1, 0x4000);
	cr_assert_eq(cc_kernel_parse(&k, img, 0x240, &e), -1);
	cr_assert(strstr(e.msg, "truncated bzImage"), "%s", e.msg);
	cr_assert_eq(cc_kernel_parse(&k, img, 0x300, &e), -1);
	cr_assert(strstr(e.msg, "truncated bzImage"), "%s", e.msg);
}

/* ---- symbols ------------------------------------------------------------ */

/* An ELF with a symbol table (two functions, one object) at an odd
 * address: the loader must read it without aligned casts, and refuse a
 * table that runs past the file. */
static size_t make_symtab_elf(uint8_t *buf)
{
	static const char strs[] = "\0spin\0wait\0data";
	Elf64_Sym syms[4] = {{0}};
	syms[1] = (Elf64_Sym){.st_name = 1,
			      .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
			      .st_value = 0x401000,
			      .st_size = 0x20};
	syms[2] = (Elf64_Sym){.st_name = 6,
			      .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC),
			      .st_value = 0x400800,
			      .st_size = 0x10};
	syms[3] = (Elf64_Sym){.st_name = 11,
			      .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
			      .st_value = 0x402000};
	Elf64_Ehdr eh = {0};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_shoff = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	size_t at = sizeof(eh) + 3 * sizeof(Elf64_Shdr);
	Elf64_Shdr sh[3] = {{0}};
	sh[1] = (Elf64_Shdr){.sh_type = SHT_SYMTAB,
			     .sh_offset = at,
			     .sh_size = sizeof(syms),
			     .sh_link = 2};
	sh[2] = (Elf64_Shdr){.sh_type = SHT_STRTAB,
			     .sh_offset = at + sizeof(syms),
			     .sh_size = sizeof(strs)};
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), sh, sizeof(sh));
	memcpy(buf + at, syms, sizeof(syms));
	memcpy(buf + at + sizeof(syms), strs, sizeof(strs));
	return at + sizeof(syms) + sizeof(strs);
}

Test(symtab, reads_functions_from_a_misaligned_image)
{
	static uint8_t buf[4096];
	uint8_t *odd = buf + 3;
	size_t len = make_symtab_elf(odd);
	struct cc_symtab t;
	cc_symtab_load(&t, odd, len);
	cr_assert_eq(t.n, 2, "the two functions, not the object");
	cr_assert_str_eq(cc_symtab_find(&t, 0x401010)->name, "spin");
	cr_assert_str_eq(cc_symtab_find(&t, 0x400800)->name, "wait");
	cr_assert_null(cc_symtab_find(&t, 0x401020), "past spin's size");
	cc_symtab_free(&t);
	/* The string table claims more than the file has: no symbols. */
	cc_symtab_load(&t, odd, len - 1);
	cr_assert_eq(t.n, 0);
	cc_symtab_free(&t);
	/* Section headers that lie past the end: no symbols either. */
	Elf64_Ehdr eh;
	memcpy(&eh, odd, sizeof(eh));
	eh.e_shoff = UINT64_MAX - 10;
	memcpy(odd, &eh, sizeof(eh));
	cc_symtab_load(&t, odd, len);
	cr_assert_eq(t.n, 0);
	cc_symtab_free(&t);
}
