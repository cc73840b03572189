#include "cpio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HDR_LEN 110
/* Names longer than this are a caller bug, not something to archive. */
#define NAME_MAX_LEN 4096

void cc_cpio_init(struct cc_cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cc_cpio_free(struct cc_cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static int reserve(struct cc_cpio *c, size_t more)
{
	if (c->failed)
		return -1;
	if (more > SIZE_MAX - c->len) {
		c->failed = 1;
		return -1;
	}
	if (c->len + more <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 4096;
	while (cap < c->len + more)
		cap *= 2;
	uint8_t *p = realloc(c->buf, cap);
	if (!p) {
		c->failed = 1;
		return -1;
	}
	c->buf = p;
	c->cap = cap;
	return 0;
}

static void put(struct cc_cpio *c, const void *p, size_t n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void pad4(struct cc_cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

static int add(struct cc_cpio *c, const char *name, uint32_t mode,
	       const void *data, size_t len, uint32_t rmaj, uint32_t rmin)
{
	size_t nlen = strlen(name) + 1;
	if (nlen < 2 || nlen > NAME_MAX_LEN || len > UINT32_MAX) {
		c->failed = 1;
		return -1;
	}
	if (reserve(c, HDR_LEN + nlen + 3 + len + 3))
		return -1;
	char hdr[HDR_LEN + 1];
	uint32_t nlink = S_ISDIR(mode) ? 2 : 1;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 c->next_ino++, mode, 0u, 0u, nlink, 0u, (uint32_t)len, 0u, 0u,
		 rmaj, rmin, (uint32_t)nlen, 0u);
	put(c, hdr, HDR_LEN);
	put(c, name, nlen);
	pad4(c);
	if (len) {
		put(c, data, len);
		pad4(c);
	}
	return 0;
}

int cc_cpio_dir(struct cc_cpio *c, const char *name)
{
	return add(c, name, S_IFDIR | 0755, NULL, 0, 0, 0);
}

int cc_cpio_file(struct cc_cpio *c, const char *name, uint32_t perm,
		 const void *data, size_t len)
{
	return add(c, name, S_IFREG | (perm & 07777), data, len, 0, 0);
}

int cc_cpio_chardev(struct cc_cpio *c, const char *name, uint32_t perm,
		    uint32_t major, uint32_t minor)
{
	return add(c, name, S_IFCHR | (perm & 07777), NULL, 0, major, minor);
}

int cc_cpio_finish(struct cc_cpio *c)
{
	/* The trailer takes inode 0 by convention. */
	uint32_t ino = c->next_ino;
	c->next_ino = 0;
	int rc = add(c, "TRAILER!!!", 0, NULL, 0, 0, 0);
	c->next_ino = ino;
	return rc || c->failed ? -1 : 0;
}
