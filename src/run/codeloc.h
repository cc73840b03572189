/*
 * The code locator: names a guest user-mode RIP (where the watchdog
 * found a program spinning) from the host files the guest runs.
 *
 * The VMM does not know which process ran or where its files were
 * mapped, but it can read the code bytes at the RIP.  A file mapped
 * for execution has those same bytes at a file offset congruent to the
 * RIP modulo the page size, inside an executable PT_LOAD segment; the
 * match gives the link-time address, which the file's own symbols name.
 * No guess: a name is given only where the bytes were found.
 */
#ifndef CC_CODELOC_H
#define CC_CODELOC_H

#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../vmm/symtab.h"

struct cc_codeloc_file {
	char *name;	     /* as the guest sees it (or the host path) */
	const uint8_t *data; /* a copy of the file */
	size_t len;
	struct cc_symtab syms;
};

struct cc_codeloc {
	struct cc_codeloc_file *v;
	size_t n, cap;
};

/* Fewer matching bytes than this name nothing. */
#define CC_CODELOC_MIN_BYTES 8
#define CC_CODELOC_MAX_FILES 4096

void cc_codeloc_init(struct cc_codeloc *l);
void cc_codeloc_free(struct cc_codeloc *l);
/* Adds the ELF file at host path `path`, shown as `name` (NULL: path).
 * A file that is not a 64-bit ELF is skipped (0); unreadable is -1. */
int cc_codeloc_add(struct cc_codeloc *l, const char *path, const char *name,
		   struct cc_err *err);
/* Adds every file of an image spec (programs, their libraries, files). */
int cc_codeloc_add_spec(struct cc_codeloc *l, const char *spec,
			struct cc_err *err);
/*
 * Looks for code[0..n) (the guest's bytes at rip) in the files: into buf
 * "FUNC+0xOFF in NAME" (or "0xADDR in NAME" without a symbol), with
 * " (or one of N places)" when the bytes occur more than once; returns
 * the number of places found (0: buf untouched).
 */
size_t cc_codeloc_name(const struct cc_codeloc *l, uint64_t rip,
		       const uint8_t *code, size_t n, char *buf, size_t cap);

#endif
