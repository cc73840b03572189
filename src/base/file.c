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
