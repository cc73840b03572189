/*
 * Snapshot files: a versioned, checksummed, zstd-compressed image of a
 * struct cc_snapshot, written to a temporary name and renamed into place,
 * validated field by field on load.
 *
 * Layout (little-endian): struct cc_snapfile_header, then the payload:
 * vCPU state, trace state, device blob, console bytes so far, guest
 * RAM compressed with zstd, the disk overlay: a zstd frame of its page
 * numbers (le64, strictly increasing) then its pages; and (version 3)
 * the overlay's unflushed pages, where the durable disk differs from
 * it: a zstd frame of (page number, has-data) le64 pairs, then the
 * durable data of those that have some (the others are the image's).  The
 * header records every size it relies on and the device layout string, and
 * carries XXH3-64 checksums of itself and of the payload.  A file from another
 * version, a truncated file or a corrupt one is refused with a message that
 * says which.
 */
#ifndef CC_SNAPFILE_H
#define CC_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "snapshot.h"

#define CC_SNAPFILE_MAGIC   "CCSNAP\0\0"
#define CC_SNAPFILE_VERSION 3u

struct cc_snapfile_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t ram_size;
	uint32_t vcpu_size;
	uint32_t trace_size;
	uint64_t devices_size;
	uint64_t console_size;
	uint64_t ram_zsize; /* compressed */
	uint32_t has_disk;
	uint32_t pad;
	uint64_t disk_pages;
	uint64_t disk_zsize; /* compressed overlay */
	uint64_t unflushed_pages;
	uint64_t unflushed_zsize; /* compressed durable differences */
	char layout[256];	  /* cc_vm_state_layout() of the writer */
	uint64_t payload_hash;
	uint64_t header_hash; /* of this header with header_hash = 0 */
};

/* Writes s (and the console output so far) to path atomically. */
int cc_snapfile_save(const char *path, const struct cc_snapshot *s,
		     const char *console, size_t console_len,
		     struct cc_err *err);

/* Reads and validates path into a new, detached snapshot.  *console
 * (malloc'd, may be NULL) gets the console output saved with it.  fit,
 * if not NULL, is the VM it is for: the file's RAM size and disk
 * overlay are checked against that VM's before anything is allocated
 * for them (a small file can claim a 64 GiB overlay). */
int cc_snapfile_load(const char *path, const struct cc_vm *fit,
		     struct cc_snapshot **out, char **console,
		     size_t *console_len, struct cc_err *err);

/* Reads and checks only the header: the guest RAM size a restore of
 * path needs (to size the VM before loading the whole file). */
int cc_snapfile_ram_size(const char *path, uint64_t *ram_size,
			 struct cc_err *err);

#endif
