#include "symtab.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_addr(const void *a, const void *b)
{
	const struct cc_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Section i's header, copied out: the file's bytes have no alignment
 * (a cast would be a misaligned read) and lie about every offset. */
static bool section(const uint8_t *elf, size_t len, const Elf64_Ehdr *eh,
		    unsigned i, Elf64_Shdr *out)
{
	if (i >= eh->e_shnum || eh->e_shoff > len)
		return false;
	uint64_t off = eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr);
	if (off > len || len - off < sizeof(Elf64_Shdr))
		return false;
	memcpy(out, elf + off, sizeof(*out));
	return true;
}

static bool inside(const Elf64_Shdr *sh, size_t len)
{
	return sh->sh_offset <= len && sh->sh_size <= len - sh->sh_offset;
}

/* The function symbols of one SHT_SYMTAB section, sorted by address. */
static void load_symbols(struct cc_symtab *t, const uint8_t *elf,
			 const Elf64_Shdr *sh, const Elf64_Shdr *str)
{
	size_t nsym = sh->sh_size / sizeof(Elf64_Sym);
	t->strings = malloc(str->sh_size + 1);
	t->sym = calloc(nsym ? nsym : 1, sizeof(*t->sym));
	if (!t->strings || !t->sym) {
		cc_symtab_free(t);
		return;
	}
	memcpy(t->strings, elf + str->sh_offset, str->sh_size);
	t->strings[str->sh_size] = 0;
	for (size_t j = 0; j < nsym; j++) {
		Elf64_Sym s;
		memcpy(&s, elf + sh->sh_offset + j * sizeof(s), sizeof(s));
		if (ELF64_ST_TYPE(s.st_info) != STT_FUNC ||
		    s.st_name >= str->sh_size || !s.st_value)
			continue;
		t->sym[t->n++] = (struct cc_sym){s.st_value, s.st_size,
						 t->strings + s.st_name};
	}
	qsort(t->sym, t->n, sizeof(*t->sym), by_addr);
}

/* Loads the first section of type `type` with a string table; true if
 * there was one. */
static bool load_section(struct cc_symtab *t, const uint8_t *elf, size_t len,
			 const Elf64_Ehdr *eh, uint32_t type)
{
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh, str;
		if (!section(elf, len, eh, i, &sh) || sh.sh_type != type)
			continue;
		if (section(elf, len, eh, sh.sh_link, &str) &&
		    inside(&sh, len) && inside(&str, len) && str.sh_size)
			load_symbols(t, elf, &sh, &str);
		return true;
	}
	return false;
}

void cc_symtab_load(struct cc_symtab *t, const uint8_t *elf, size_t len)
{
	memset(t, 0, sizeof(*t));
	Elf64_Ehdr eh;
	if (len < sizeof(eh) || memcmp(elf, ELFMAG, SELFMAG))
		return;
	memcpy(&eh, elf, sizeof(eh));
	if (eh.e_shentsize != sizeof(Elf64_Shdr))
		return;
	/* A stripped program or library still names what it exports. */
	if (!load_section(t, elf, len, &eh, SHT_SYMTAB))
		load_section(t, elf, len, &eh, SHT_DYNSYM);
}

void cc_symtab_free(struct cc_symtab *t)
{
	free(t->sym);
	free(t->strings);
	memset(t, 0, sizeof(*t));
}

const struct cc_sym *cc_symtab_find(const struct cc_symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->sym[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct cc_sym *s = &t->sym[lo - 1];
	/* Sizeless symbols (asm labels) cover up to the next symbol. */
	if (s->size && addr >= s->addr + s->size)
		return NULL;
	return s;
}

const char *cc_symtab_format(const struct cc_symtab *t, uint64_t addr,
			     char *buf, size_t buflen)
{
	const struct cc_sym *s = cc_symtab_find(t, addr);
	if (s)
		snprintf(buf, buflen, "%s+0x%llx", s->name,
			 (unsigned long long)(addr - s->addr));
	else
		snprintf(buf, buflen, "0x%llx", (unsigned long long)addr);
	return buf;
}
