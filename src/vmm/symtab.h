/*
 * Function symbols of an ELF file (the kernel, or a user program), for
 * naming guest RIPs in error messages, the RIP sampler's profile and
 * the watchdog's spin report.
 */
#ifndef CC_SYMTAB_H
#define CC_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

struct cc_sym {
	uint64_t addr;
	uint64_t size;
	char *name;
};

struct cc_symtab {
	struct cc_sym *sym; /* sorted by addr */
	size_t n;
	char *strings;
};

/* Loads FUNC symbols from an ELF image in memory (.symtab, else
 * .dynsym); 0 symbols if none. */
void cc_symtab_load(struct cc_symtab *t, const uint8_t *elf, size_t len);
void cc_symtab_free(struct cc_symtab *t);
/* "name+0xoff" or "0x<addr>" into buf; returns buf. */
const char *cc_symtab_format(const struct cc_symtab *t, uint64_t addr,
			     char *buf, size_t buflen);
/* The symbol containing addr, or NULL. */
const struct cc_sym *cc_symtab_find(const struct cc_symtab *t, uint64_t addr);

#endif
