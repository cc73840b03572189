/*
 * Guest kernel images: an ELF64 `vmlinux` (or any ELF64 x86-64 image with
 * physical load addresses, e.g. a micro-guest) or a Linux `bzImage` that
 * supports the 64-bit boot protocol.
 *
 * cc_kernel_parse() is pure: it validates a file already in memory and
 * describes where its bytes go.  Nothing is trusted: every offset and size
 * from the file is checked against the file length before use.
 */
#ifndef CC_KERNEL_H
#define CC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/file.h"
#include "../base/mem.h"

enum cc_kernel_kind { CC_KERNEL_ELF, CC_KERNEL_BZIMAGE };

#define CC_KERNEL_MAX_SEGS 16

struct cc_kernel_seg {
	uint64_t paddr;	 /* guest physical load address */
	uint64_t offset; /* offset in the file */
	uint64_t filesz; /* bytes copied from the file */
	uint64_t memsz;	 /* bytes reserved in RAM (rest zero-filled) */
};

struct cc_kernel {
	enum cc_kernel_kind kind;
	uint64_t entry; /* physical address of the 64-bit entry point */
	struct cc_kernel_seg seg[CC_KERNEL_MAX_SEGS];
	unsigned nseg;
	uint64_t end;	      /* first byte above everything the image uses */
	uint64_t initrd_max;  /* highest address the initrd may end at */
	uint32_t cmdline_max; /* longest command line, without the NUL */
	/* bzImage only: the setup header bytes, copied into the zero page. */
	uint8_t setup_hdr[0x80];
	size_t setup_hdr_len;
	uint16_t boot_version;
	/* The file itself; owned (freed by cc_kernel_free) only when loaded
	 * with cc_kernel_load. */
	const uint8_t *data;
	size_t len;
	uint8_t *owned;
};

const char *cc_kernel_kind_name(enum cc_kernel_kind kind);

/* Validates `data` (not copied, must outlive k) and fills k. */
int cc_kernel_parse(struct cc_kernel *k, const uint8_t *data, size_t len,
		    struct cc_err *err);

/* Reads `path` and parses it; k owns the buffer afterwards. */
int cc_kernel_load(struct cc_kernel *k, const char *path, struct cc_err *err);
void cc_kernel_free(struct cc_kernel *k);

/* Copies the segments into guest RAM; fails if any does not fit. */
int cc_kernel_place(const struct cc_kernel *k, struct cc_mem *mem,
		    struct cc_err *err);

#endif
