/*
 * The E820 memory map handed to the guest in the zero page.  RAM below
 * 640 KiB and from 1 MiB up; the coverage bitmap and the hypercall page
 * are explicitly reserved so the guest kernel never allocates them.
 */
#ifndef CC_E820_H
#define CC_E820_H

#include <stdint.h>

#define CC_E820_RAM	 1
#define CC_E820_RESERVED 2
#define CC_E820_MAX	 8

struct cc_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct cc_e820 {
	struct cc_e820_entry e[CC_E820_MAX];
	unsigned n;
};

/* ram_size must be >= 2 MiB (cc_mem enforces far more). */
void cc_e820_build(struct cc_e820 *map, uint64_t ram_size);

#endif
