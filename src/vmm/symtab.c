#include "symtab.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_addr(const void *a, const void *b)
{
	const struct cc_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const Elf64_Shdr *section(const uint8_t *elf, size_t len,
				 const Elf64_Ehdr *eh, unsigned i)
{
	uint64_t off = eh->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr);
	if (i >= eh->e_shnum || off > len || len - off < sizeof(Elf64_Shdr))
		return NULL;
	return (const Elf64_Shdr *)(elf + off);
}

void cc_symtab_load(struct cc_symtab *t, const uint8_t *elf, size_t len)
{
	memset(t, 0, sizeof(*t));
	if (len < sizeof(Elf64_Ehdr) || memcmp(elf, ELFMAG, SELFMAG))
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *sh = section(elf, len, eh, i);
		if (!sh || sh->sh_type != SHT_SYMTAB)
			continue;
		const Elf64_Shdr *str = section(elf, len, eh, sh->sh_link);
		if (!str || sh->sh_offset > len ||
		    sh->sh_size > len - sh->sh_offset || str->sh_offset > len ||
		    str->sh_size > len - str->sh_offset || str->sh_size == 0)
			return;
		size_t nsym = sh->sh_size / sizeof(Elf64_Sym);
		t->strings = malloc(str->sh_size + 1);
		t->sym = calloc(nsym ? nsym : 1, sizeof(*t->sym));
		if (!t->strings || !t->sym) {
			cc_symtab_free(t);
			return;
		}
		memcpy(t->strings, elf + str->sh_offset, str->sh_size);
		t->strings[str->sh_size] = 0;
		const Elf64_Sym *s = (const Elf64_Sym *)(elf + sh->sh_offset);
		for (size_t j = 0; j < nsym; j++) {
			if (ELF64_ST_TYPE(s[j].st_info) != STT_FUNC ||
			    s[j].st_name >= str->sh_size || !s[j].st_value)
				continue;
			t->sym[t->n++] =
				(struct cc_sym){s[j].st_value, s[j].st_size,
						t->strings + s[j].st_name};
		}
		qsort(t->sym, t->n, sizeof(*t->sym), by_addr);
		return;
	}
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
