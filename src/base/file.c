#define _GNU_SOURCE
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "mem.h"

int cc_read_file(const char *path, const char *what, uint8_t **data,
		 size_t *len, struct cc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cc_err_errno(err, "%s %s", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cc_err_set(err, "%s %s: not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > CC_MEM_MAX) {
		close(fd);
		return cc_err_set(err,
				  "%s %s: %lld MiB is larger than any "
				  "guest RAM",
				  what, path, (long long)(st.st_size >> 20));
	}
	uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			free(buf);
			buf = NULL;
		} else {
			got += (size_t)n;
		}
	}
	close(fd);
	if (!buf)
		return cc_err_errno(err, "%s %s: read failed", what, path);
	*data = buf;
	*len = got;
	return 0;
}

int cc_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int cc_file_map(const char *path, const char *what, const void **p,
		uint64_t *len, struct cc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return cc_err_errno(err, "%s %s", what, path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cc_err_set(err, "%s %s: not a regular file", what, path);
	}
	*len = (uint64_t)st.st_size;
	void *m = *len ? mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	close(fd);
	if (m == MAP_FAILED)
		return cc_err_errno(err, "%s %s", what, path);
	*p = m;
	return 0;
}

void cc_file_unmap(const void *p, uint64_t len)
{
	if (p)
		munmap((void *)p, len);
}

int cc_file_hash64(const char *path, const char *what, uint64_t *hash,
		   uint64_t *len, struct cc_err *err)
{
	const void *p;
	if (cc_file_map(path, what, &p, len, err))
		return -1;
	*hash = XXH3_64bits(p, *len);
	cc_file_unmap(p, *len);
	return 0;
}

int cc_write_file_atomic(const char *path, const void *data, size_t len,
			 struct cc_err *err)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp))
		return cc_err_set(err, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cc_err_errno(err, "%s", tmp);
	if (cc_write_all(fd, data, len) || fsync(fd) < 0) {
		cc_err_errno(err, "%s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		cc_err_errno(err, "%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cc_file_out_open(struct cc_file_out *o, const char *path,
		     struct cc_err *err)
{
	o->fd = -1;
	if ((size_t)snprintf(o->path, sizeof(o->path), "%s", path) >=
	    sizeof(o->path))
		return cc_err_set(err, "%s: path too long", path);
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%ld", path, (long)getpid());
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return cc_err_errno(err, "%s", o->tmp);
	return 0;
}

int cc_file_out_write(struct cc_file_out *o, const void *p, size_t n,
		      struct cc_err *err)
{
	if (cc_write_all(o->fd, p, n))
		return cc_err_errno(err, "%s", o->tmp);
	return 0;
}

int cc_file_out_commit(struct cc_file_out *o, struct cc_err *err)
{
	if (fsync(o->fd) < 0) {
		cc_err_errno(err, "%s", o->tmp);
		cc_file_out_abandon(o);
		return -1;
	}
	int rc = close(o->fd);
	o->fd = -1;
	if (rc < 0 || rename(o->tmp, o->path) < 0) {
		cc_err_errno(err, "%s", o->path);
		unlink(o->tmp);
		return -1;
	}
	return 0;
}

void cc_file_out_abandon(struct cc_file_out *o)
{
	if (o->fd >= 0) {
		close(o->fd);
		unlink(o->tmp);
	}
	o->fd = -1;
}

/* Copies [off, end) of fd into copy at the same offsets. */
static int copy_range(int fd, int copy, uint64_t off, uint64_t end)
{
	static _Thread_local uint8_t buf[1 << 16];
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? end - off : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* shorter now than it was: the rest stays zero */
			return n < 0 ? -1 : 0;
		if (pwrite(copy, buf, (size_t)n, (off_t)off) != n)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

/* Copies fd's data extents below len (all of it where the file system
 * cannot tell holes). */
static int copy_data(int fd, int copy, uint64_t len)
{
	uint64_t at = 0;
	while (at < len) {
		off_t data = lseek(fd, (off_t)at, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0
					      : copy_range(fd, copy, at, len);
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t end =
			hole < 0 || (uint64_t)hole > len ? len : (uint64_t)hole;
		if (copy_range(fd, copy, (uint64_t)data, end))
			return -1;
		at = end;
	}
	return 0;
}

int cc_file_freeze(int fd, uint64_t len, const char *what, const char *path,
		   const uint8_t **map, int *copy_fd, struct cc_err *err)
{
	*map = NULL;
	*copy_fd = -1;
	int copy = memfd_create("cc-frozen", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0)
		return cc_err_errno(err, "%s %s: cannot make a private copy",
				    what, path);
	void *p = MAP_FAILED;
	if (ftruncate(copy, (off_t)len) || copy_data(fd, copy, len) ||
	    fcntl(copy, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) ||
	    (p = mmap(NULL, len, PROT_READ, MAP_SHARED, copy, 0)) ==
		    MAP_FAILED) {
		int e = errno;
		close(copy);
		errno = e;
		return cc_err_errno(err, "%s %s: cannot copy it privately",
				    what, path);
	}
	*map = p;
	*copy_fd = copy;
	return 0;
}
