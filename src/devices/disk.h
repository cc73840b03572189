/*
 * A VM's disk: a raw image file, opened read-only and shared by every VM
 * that uses it, under a private copy-on-write overlay of 4 KiB pages.
 *
 * The image is never written.  A write lands in overlay pages (copied
 * from the image on first touch); reads see the overlay where it has a
 * page and the image elsewhere.  Overlay pages are reference-counted and
 * immutable while shared, so a snapshot of the overlay copies its page
 * table only - O(pages written), not O(disk) - and a restore swaps the
 * table back.  cc_disk_writeback() merges image + overlay into a new
 * image file for the host to inspect or reuse.
 *
 * Faults (glossary: DiskReadError, DiskWriteError, DiskTornWrite,
 * DiskCorruption, DiskFull) are per-disk switches; where a fault needs
 * randomness (how much of a write lands, which bytes flip) it draws from
 * the disk's own seeded stream, so the damage is a function of the seed.
 */
#ifndef CC_DISK_H
#define CC_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/entropy.h"

#define CC_DISK_PAGE   4096u
#define CC_SECTOR      512u
#define CC_DOMAIN_DISK 0x4449534bull /* "DISK" */

enum cc_disk_status {
	CC_DISK_OK,
	CC_DISK_EIO,
	CC_DISK_NOSPC,
};

/* Per-disk fault switches (driven by the fault engine). */
struct cc_disk_faults {
	bool read_error;  /* reads fail with EIO */
	bool write_error; /* writes fail with EIO */
	bool torn_write;  /* writes land only in part, and report success */
	bool corruption;  /* reads return data with flipped bytes */
	bool full;	  /* writes fail with "no space" */
};

struct cc_disk_page {
	uint32_t refs;
	uint8_t data[CC_DISK_PAGE];
};

struct cc_disk_slot {
	uint64_t index; /* page number */
	struct cc_disk_page *page;
};

/* A saved overlay: its pages, sorted by index, each holding a reference;
 * and its durable part (struct cc_disk), the same way. */
struct cc_disk_snap {
	uint64_t n;
	struct cc_disk_slot *slot;
	uint64_t ndur;
	struct cc_disk_slot *dur;
};

/* Guest-visible disk state besides the overlay (a snapshot row). */
/* What a snapshot saves of a disk besides its overlay pages (disk.h's
 * cc_disk_snap); bump when the struct changes. */
#define CC_DISK_STATE_VERSION 1
struct cc_disk_state {
	struct cc_disk_faults faults;
	struct cc_entropy rng;
	uint64_t reads, writes, flushes, read_errors, write_errors, torn,
		corrupted, nospace;
	/* Pages written since a flush that a crash let land, lost, tore. */
	uint64_t crash_landed, crash_lost, crash_torn;
};

struct cc_disk {
	struct cc_disk_state st;
	const uint8_t *image; /* a frozen copy (cc_file_freeze); NULL: empty */
	uint64_t image_len;   /* bytes mapped; past them the disk reads 0 */
	uint64_t size;	      /* bytes, a multiple of CC_SECTOR */
	int fd;		      /* the frozen copy's */
	/* Overlay: open addressing, capacity a power of two, half full at
	 * most; index UINT64_MAX marks an empty slot. */
	struct cc_disk_slot *tab;
	uint64_t cap, used;
	/* The durable overlay: the pages as of the guest's last flush,
	 * sorted, each holding a reference - what survives a power cut.
	 * The references keep those pages immutable, so a later write
	 * copies them like a snapshot's.  Its pages are always a subset
	 * of the overlay's (pages are only added between flushes). */
	struct cc_disk_slot *dur;
	uint64_t ndur;
};

/* Opens path read-only as the disk image. */
int cc_disk_open(struct cc_disk *d, const char *path, uint64_t seed,
		 struct cc_err *err);
void cc_disk_close(struct cc_disk *d);
/* A disk of size bytes that reads as zeros until an image is attached:
 * the image disk, whose size the boot sees and whose contents it does
 * not.  Attaching maps path (at most size bytes) as its contents;
 * detaching makes it blank again.  Only for a disk never written. */
void cc_disk_blank(struct cc_disk *d, uint64_t size, uint64_t seed);
int cc_disk_attach(struct cc_disk *d, const char *path, struct cc_err *err);
void cc_disk_detach(struct cc_disk *d);

/* Bytes [off, off+len) must lie within the disk (callers check). */
enum cc_disk_status cc_disk_read(struct cc_disk *d, uint64_t off, void *buf,
				 uint64_t len);
enum cc_disk_status cc_disk_write(struct cc_disk *d, uint64_t off,
				  const void *buf, uint64_t len);
enum cc_disk_status cc_disk_flush(struct cc_disk *d);

/* Pages in the overlay, and those written since the last flush. */
uint64_t cc_disk_overlay_pages(const struct cc_disk *d);
/* Restored state: NULL if sound, else why not. */
const char *cc_disk_state_check(const struct cc_disk_state *st);
uint64_t cc_disk_unflushed_pages(const struct cc_disk *d);

/* Power cut (a node restart): the disk keeps what the guest flushed and
 * loses every write after it. */
int cc_disk_power_loss(struct cc_disk *d);
/* Crash (glossary: ProcessCrash): each page written since the last
 * flush lands, is lost or is torn (each 512-byte sector old or new), as
 * the disk's seeded stream decides, in page order. */
int cc_disk_crash(struct cc_disk *d);

/* Snapshot / restore of the overlay (the rest is in struct
 * cc_disk_state).  cc_disk_snap_free drops the snapshot's references. */
int cc_disk_snap_take(const struct cc_disk *d, struct cc_disk_snap *s);
int cc_disk_snap_restore(struct cc_disk *d, const struct cc_disk_snap *s);
void cc_disk_snap_free(struct cc_disk_snap *s);
/* Builds a snapshot from raw pages (a loader); data is npages*4 KiB.
 * Its durable overlay is the same until cc_disk_snap_unflushed_from. */
int cc_disk_snap_from(struct cc_disk_snap *s, const uint64_t *index,
		      const uint8_t *data, uint64_t npages);
/* Where s's durable overlay differs from its overlay (written since the
 * last flush): m sorted page indexes, each with the durable page or NULL
 * (the image's bytes).  index and page hold s->n entries; returns m. */
uint64_t cc_disk_snap_unflushed(const struct cc_disk_snap *s, uint64_t *index,
				const struct cc_disk_page **page);
/* The loader's inverse: present[k] says whether unflushed page k has
 * durable data (the next 4 KiB of data) or the image's.  -1 on a list
 * that is not sorted or names a page outside the overlay, or no memory. */
int cc_disk_snap_unflushed_from(struct cc_disk_snap *s, const uint64_t *index,
				const uint8_t *present, const uint8_t *data,
				uint64_t m);

/* Writes image + overlay to path (temp name, then rename). */
int cc_disk_writeback(const struct cc_disk *d, const char *path,
		      struct cc_err *err);

#endif
