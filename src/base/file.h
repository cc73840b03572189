/*
 * File I/O every layer uses: whole files in, whole buffers out, and a
 * read-only mapping with its hash.  Errors name the file and what it is
 * ("kernel", "image disk").
 */
#ifndef CC_FILE_H
#define CC_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Reads a whole regular file of at most CC_MEM_MAX bytes (kernels,
 * initrds, specs) into a malloc'd buffer. */
int cc_read_file(const char *path, const char *what, uint8_t **data,
		 size_t *len, struct cc_err *err);
/* write(2) until all of [p, p+n) is written; -1 (errno set) on failure. */
int cc_write_all(int fd, const void *p, size_t n);
/* Writes [data, data+len) to path through a temporary name in the same
 * directory, synced, then renamed: readers see the old file or the new
 * one, never a part. */
int cc_write_file_atomic(const char *path, const void *data, size_t len,
			 struct cc_err *err);
/* The same for a file written a piece at a time (recordings): opened
 * under the temporary name, committed (synced, renamed over path) or
 * abandoned (removed).  Nothing appears at path until the commit. */
struct cc_file_out {
	int fd;
	char path[4096], tmp[4200];
};
int cc_file_out_open(struct cc_file_out *o, const char *path,
		     struct cc_err *err);
int cc_file_out_write(struct cc_file_out *o, const void *p, size_t n,
		      struct cc_err *err);
int cc_file_out_commit(struct cc_file_out *o, struct cc_err *err);
void cc_file_out_abandon(struct cc_file_out *o);
/* Maps a whole regular file read-only (*p NULL when it is empty). */
int cc_file_map(const char *path, const char *what, const void **p,
		uint64_t *len, struct cc_err *err);
void cc_file_unmap(const void *p, uint64_t len);
/* The first len bytes of the open file fd as they are now, whatever
 * happens to the file later: a sealed private copy (memfd; holes stay
 * holes, so a sparse disk costs its data), mapped read-only at *map,
 * its descriptor in *copy_fd (close it and munmap(*map, len) to free).
 * A mapping of the file itself would show the host's later edits to
 * the guest and kill the VMM with SIGBUS if the file were truncated. */
int cc_file_freeze(int fd, uint64_t len, const char *what, const char *path,
		   const uint8_t **map, int *copy_fd, struct cc_err *err);
/* XXH3-64 and size of a regular file, through a read-only mapping (so a
 * file larger than RAM is fine). */
int cc_file_hash64(const char *path, const char *what, uint64_t *hash,
		   uint64_t *len, struct cc_err *err);

#endif
