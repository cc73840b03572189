/*
 * Guest RAM: one anonymous mapping that backs guest physical addresses
 * [0, size).  Every access the VMM makes on behalf of the guest goes
 * through cc_mem_ptr(), which bounds-checks the whole range: the guest
 * controls the addresses, so an unchecked one is a VMM memory bug.
 */
#ifndef CC_MEM_H
#define CC_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Guest RAM may not reach the MMIO hole that starts at 3 GiB. */
#define CC_MEM_MAX (3ull << 30)
#define CC_MEM_MIN (16ull << 20)

#define CC_PAGE_SIZE 4096ull

struct cc_mem {
	uint8_t *host;
	uint64_t size;
	/* Pages the VMM itself wrote since the last harvest (KVM's dirty log
	 * sees only the guest's writes): one bit per 4 KiB page. */
	uint64_t *vmm_dirty;
};

static inline uint64_t cc_mem_pages(const struct cc_mem *mem)
{
	return mem->size / CC_PAGE_SIZE;
}

/* Marks [gpa, gpa+len) written by the VMM (clamped to RAM). */
void cc_mem_mark_dirty(struct cc_mem *mem, uint64_t gpa, uint64_t len);

int cc_mem_init(struct cc_mem *mem, uint64_t size, struct cc_err *err);
void cc_mem_free(struct cc_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside RAM.
 * Writes through it are not tracked: after boot set-up, write guest RAM
 * with cc_mem_write() or call cc_mem_mark_dirty(), or a snapshot restore
 * will silently keep the stale bytes. */
void *cc_mem_ptr(const struct cc_mem *mem, uint64_t gpa, uint64_t len);

/* Copy helpers; false when the range is outside RAM.  cc_mem_write marks
 * the pages dirty. */
bool cc_mem_read(const struct cc_mem *mem, uint64_t gpa, void *dst,
		 uint64_t len);
bool cc_mem_write(struct cc_mem *mem, uint64_t gpa, const void *src,
		  uint64_t len);

/*
 * Translate a guest virtual address with the guest's own 4-level page
 * tables (root = cr3).  Handles 1 GiB and 2 MiB pages.  Returns false if
 * a table lies outside RAM or an entry is not present.  Used to read the
 * instruction bytes at a faulting RIP without trusting the guest.
 */
bool cc_mem_translate(const struct cc_mem *mem, uint64_t cr3, uint64_t gva,
		      uint64_t *gpa);

#endif
