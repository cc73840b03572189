/*
 * The Linux 64-bit boot protocol as the VMM speaks it: zero page
 * (struct boot_params) with the E820 map, command line and initrd, and the
 * CPU state at entry (long mode, identity-mapped first GiB, RSI = zero
 * page).  Micro-guests use the same contract (docs/MICRO-GUESTS.md).
 */
#ifndef CC_BOOT_H
#define CC_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "kernel.h"
#include "../base/mem.h"

/* Fixed low-memory layout, all below 640 KiB. */
#define CC_BOOT_GDT	    0x0500ull
#define CC_BOOT_SETUP_DATA  0x6000ull /* setup_data list (RNG seed) */
#define CC_BOOT_ZERO_PAGE   0x7000ull
#define CC_BOOT_PML4	    0x9000ull
#define CC_BOOT_PDPT	    0xa000ull
#define CC_BOOT_PD	    0xb000ull
#define CC_BOOT_CMDLINE	    0x20000ull
#define CC_BOOT_CMDLINE_MAX 0x10000ull

/* Selectors of the boot GDT (Linux expects __BOOT_CS / __BOOT_DS). */
#define CC_BOOT_CS 0x10
#define CC_BOOT_DS 0x18

struct cc_boot_info {
	uint64_t initrd_gpa; /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t entry;
};

#define CC_BOOT_RNG_SEED_LEN 32

/*
 * Writes the kernel, initrd, command line, zero page, GDT and page tables
 * into guest RAM.  initrd may be NULL.  rng_seed (CC_BOOT_RNG_SEED_LEN
 * bytes, or NULL) becomes a SETUP_RNG_SEED setup_data entry: Linux mixes
 * it into its entropy pool at boot, so the guest's random numbers are a
 * function of the simulation seed.
 */
int cc_boot_setup(struct cc_mem *mem, const struct cc_kernel *k,
		  const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		  const uint8_t *rng_seed, struct cc_boot_info *info,
		  struct cc_err *err);

#endif
