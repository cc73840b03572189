#include "codeloc.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/array.h"
#include "../base/file.h"
#include "image.h"

#define PAGE 4096ull

void cc_codeloc_init(struct cc_codeloc *l)
{
	memset(l, 0, sizeof(*l));
}

void cc_codeloc_free(struct cc_codeloc *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		cc_symtab_free(&l->v[i].syms);
		free((void *)l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool is_elf64(const uint8_t *d, uint64_t len)
{
	return len >= sizeof(Elf64_Ehdr) && !memcmp(d, ELFMAG, SELFMAG) &&
	       d[EI_CLASS] == ELFCLASS64;
}

int cc_codeloc_add(struct cc_codeloc *l, const char *path, const char *name,
		   struct cc_err *err)
{
	/* A copy, not a mapping: a file truncated under us is no SIGBUS. */
	uint8_t *p;
	size_t len;
	if (cc_read_file(path, "symbols", &p, &len, err))
		return -1;
	if (!is_elf64(p, len)) {
		free(p);
		return 0;
	}
	if (l->n == CC_CODELOC_MAX_FILES ||
	    cc_array_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 16)) {
		free(p);
		return cc_err_set(err, "symbols: more than %d files",
				  CC_CODELOC_MAX_FILES);
	}
	struct cc_codeloc_file *f = &l->v[l->n];
	f->name = strdup(name ? name : path);
	if (!f->name) {
		free(p);
		return cc_err_set(err, "out of memory");
	}
	f->data = p;
	f->len = len;
	cc_symtab_load(&f->syms, p, len);
	l->n++;
	return 0;
}

int cc_codeloc_add_spec(struct cc_codeloc *l, const char *spec,
			struct cc_err *err)
{
	struct cc_image img;
	cc_image_init(&img, NULL);
	int rc = cc_image_load_spec(&img, spec, err);
	for (size_t i = 0; !rc && i < img.n; i++)
		if (img.v[i].kind == CC_IMAGE_FILE)
			rc = cc_codeloc_add(l, img.v[i].src, img.v[i].path,
					    err);
	cc_image_free(&img);
	return rc;
}

/* Program header i of f, copied out (the file's bytes have no
 * alignment and may lie about every offset). */
static bool phdr(const struct cc_codeloc_file *f, unsigned i, Elf64_Phdr *ph)
{
	Elf64_Ehdr eh;
	if (f->len < sizeof(eh))
		return false;
	memcpy(&eh, f->data, sizeof(eh));
	if (eh.e_phentsize != sizeof(*ph) || i >= eh.e_phnum ||
	    eh.e_phoff > f->len)
		return false;
	uint64_t off = eh.e_phoff + (uint64_t)i * sizeof(*ph);
	if (off > f->len || f->len - off < sizeof(*ph))
		return false;
	memcpy(ph, f->data + off, sizeof(*ph));
	return true;
}

struct hit {
	const struct cc_codeloc_file *f;
	uint64_t vaddr;
};

/* Places in f's executable segments where code[0..n) sits at a file
 * offset congruent to rip modulo the page size: counted; the first
 * one goes to *first. */
static size_t search(const struct cc_codeloc_file *f, uint64_t rip,
		     const uint8_t *code, size_t n, struct hit *first)
{
	size_t found = 0;
	Elf64_Phdr ph;
	for (unsigned i = 0; phdr(f, i, &ph); i++) {
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) ||
		    ph.p_offset > f->len || ph.p_filesz > f->len - ph.p_offset)
			continue;
		uint64_t end = ph.p_offset + ph.p_filesz;
		uint64_t o = (ph.p_offset & ~(PAGE - 1)) + (rip & (PAGE - 1));
		for (; o < end && end - o >= n; o += PAGE) {
			if (o < ph.p_offset || memcmp(f->data + o, code, n))
				continue;
			if (!found++)
				*first = (struct hit){
					f, ph.p_vaddr + (o - ph.p_offset)};
		}
	}
	return found;
}

size_t cc_codeloc_name(const struct cc_codeloc *l, uint64_t rip,
		       const uint8_t *code, size_t n, char *buf, size_t cap)
{
	if (n < CC_CODELOC_MIN_BYTES)
		return 0;
	size_t found = 0;
	struct hit h = {0}, cand = {0};
	for (size_t i = 0; i < l->n; i++) {
		size_t k = search(&l->v[i], rip, code, n, &cand);
		if (k && !found)
			h = cand;
		found += k;
	}
	if (!found)
		return 0;
	char sym[160];
	cc_symtab_format(&h.f->syms, h.vaddr, sym, sizeof(sym));
	if (found == 1)
		snprintf(buf, cap, "%s in %s", sym, h.f->name);
	else
		snprintf(buf, cap, "%s in %s (or one of %zu places)", sym,
			 h.f->name, found);
	return found;
}
