/*
 * A newc ("070701") cpio archive writer, in memory: what the kernel
 * unpacks as an initramfs.  No root, no loop mounts, no host files'
 * metadata: every entry gets uid/gid 0 and mtime 0, inode numbers in
 * order of addition, so the same inputs give the same bytes.
 */
#ifndef CC_CPIO_H
#define CC_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cc_cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t next_ino;
	int failed; /* out of memory or a bad entry: the archive is invalid */
};

void cc_cpio_init(struct cc_cpio *c);
void cc_cpio_free(struct cc_cpio *c);

/* A directory (mode 0755 plus S_IFDIR). */
int cc_cpio_dir(struct cc_cpio *c, const char *name);
/* A regular file with permission bits `perm` (e.g. 0755). */
int cc_cpio_file(struct cc_cpio *c, const char *name, uint32_t perm,
		 const void *data, size_t len);
/* A character device node (e.g. /dev/console = 5:1). */
int cc_cpio_chardev(struct cc_cpio *c, const char *name, uint32_t perm,
		    uint32_t major, uint32_t minor);
/* Appends the TRAILER!!! entry; the archive is complete afterwards. */
int cc_cpio_finish(struct cc_cpio *c);

#endif
