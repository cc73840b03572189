#define _GNU_SOURCE
#include "disk.h"

#include "../vmm/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMPTY UINT64_MAX

int cc_disk_open(struct cc_disk *d, const char *path, uint64_t seed,
		 struct cc_err *err)
{
	memset(d, 0, sizeof(*d));
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0)
		return cc_err_errno(err, "disk image %s", path);
	struct stat st;
	if (fstat(d->fd, &st) < 0) {
		cc_disk_close(d);
		return cc_err_errno(err, "disk image %s", path);
	}
	d->size = (uint64_t)st.st_size / CC_SECTOR * CC_SECTOR;
	if (!S_ISREG(st.st_mode) || d->size == 0) {
		cc_disk_close(d);
		return cc_err_set(err,
				  "disk image %s: not a regular file of at "
				  "least one 512-byte sector",
				  path);
	}
	void *p = mmap(NULL, d->size, PROT_READ, MAP_SHARED, d->fd, 0);
	if (p == MAP_FAILED) {
		cc_disk_close(d);
		return cc_err_errno(err, "mapping disk image %s", path);
	}
	d->image = p;
	cc_entropy_init(&d->st.rng, seed + CC_DOMAIN_DISK);
	return 0;
}

static void unref(struct cc_disk_page *p)
{
	if (p && --p->refs == 0)
		free(p);
}

static void drop_overlay(struct cc_disk *d)
{
	for (uint64_t i = 0; i < d->cap; i++)
		if (d->tab[i].index != EMPTY)
			unref(d->tab[i].page);
	free(d->tab);
	d->tab = NULL;
	d->cap = d->used = 0;
}

void cc_disk_close(struct cc_disk *d)
{
	drop_overlay(d);
	if (d->image)
		munmap((void *)d->image, d->size);
	if (d->fd > 0)
		close(d->fd);
	d->image = NULL;
	d->fd = -1;
}

static uint64_t hash(uint64_t i)
{
	i ^= i >> 33;
	i *= 0xff51afd7ed558ccdull;
	return i ^ (i >> 33);
}

static struct cc_disk_slot *find(const struct cc_disk *d, uint64_t index)
{
	if (!d->cap)
		return NULL;
	for (uint64_t h = hash(index) & (d->cap - 1);;
	     h = (h + 1) & (d->cap - 1)) {
		if (d->tab[h].index == index)
			return &d->tab[h];
		if (d->tab[h].index == EMPTY)
			return NULL;
	}
}

static void place(struct cc_disk_slot *tab, uint64_t cap, struct cc_disk_slot s)
{
	uint64_t h = hash(s.index) & (cap - 1);
	while (tab[h].index != EMPTY)
		h = (h + 1) & (cap - 1);
	tab[h] = s;
}

static int grow(struct cc_disk *d)
{
	uint64_t cap = d->cap ? 2 * d->cap : 64;
	struct cc_disk_slot *tab = malloc(cap * sizeof(*tab));
	if (!tab)
		return -1;
	for (uint64_t i = 0; i < cap; i++)
		tab[i].index = EMPTY;
	for (uint64_t i = 0; i < d->cap; i++)
		if (d->tab[i].index != EMPTY)
			place(tab, cap, d->tab[i]);
	free(d->tab);
	d->tab = tab;
	d->cap = cap;
	return 0;
}

static int insert(struct cc_disk *d, uint64_t index, struct cc_disk_page *p)
{
	if (2 * (d->used + 1) > d->cap && grow(d))
		return -1;
	place(d->tab, d->cap, (struct cc_disk_slot){index, p});
	d->used++;
	return 0;
}

static const uint8_t *page_data(const struct cc_disk *d, uint64_t index)
{
	const struct cc_disk_slot *s = find(d, index);
	return s ? s->page->data : d->image + index * CC_DISK_PAGE;
}

/* The image's last page may be short: only whole sectors exist. */
static uint64_t page_len(const struct cc_disk *d, uint64_t index)
{
	uint64_t left = d->size - index * CC_DISK_PAGE;
	return left < CC_DISK_PAGE ? left : CC_DISK_PAGE;
}

/* A page this overlay alone owns, ready to be written. */
static uint8_t *writable(struct cc_disk *d, uint64_t index)
{
	struct cc_disk_slot *s = find(d, index);
	if (s && s->page->refs == 1)
		return s->page->data;
	struct cc_disk_page *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->refs = 1;
	memcpy(p->data, page_data(d, index), page_len(d, index));
	if (s) {
		unref(s->page); /* shared with a snapshot: copy on write */
		s->page = p;
	} else if (insert(d, index, p)) {
		free(p);
		return NULL;
	}
	return p->data;
}

static void copy_out(const struct cc_disk *d, uint64_t off, uint8_t *buf,
		     uint64_t len)
{
	while (len) {
		uint64_t index = off / CC_DISK_PAGE, in = off % CC_DISK_PAGE;
		uint64_t n = CC_DISK_PAGE - in < len ? CC_DISK_PAGE - in : len;
		memcpy(buf, page_data(d, index) + in, n);
		buf += n;
		off += n;
		len -= n;
	}
}

static int copy_in(struct cc_disk *d, uint64_t off, const uint8_t *buf,
		   uint64_t len)
{
	while (len) {
		uint64_t index = off / CC_DISK_PAGE, in = off % CC_DISK_PAGE;
		uint64_t n = CC_DISK_PAGE - in < len ? CC_DISK_PAGE - in : len;
		uint8_t *p = writable(d, index);
		if (!p)
			return -1;
		memcpy(p + in, buf, n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* DiskCorruption: one byte of every sector read flips to another value. */
static void corrupt(struct cc_disk *d, uint8_t *buf, uint64_t len)
{
	for (uint64_t s = 0; s + CC_SECTOR <= len; s += CC_SECTOR) {
		uint64_t r = cc_entropy_u64(&d->st.rng);
		uint8_t flip = (uint8_t)(r >> 32) | 1; /* never a no-op */
		buf[s + r % CC_SECTOR] ^= flip;
	}
	d->st.corrupted++;
}

enum cc_disk_status cc_disk_read(struct cc_disk *d, uint64_t off, void *buf,
				 uint64_t len)
{
	d->st.reads++;
	if (d->st.faults.read_error) {
		d->st.read_errors++;
		return CC_DISK_EIO;
	}
	copy_out(d, off, buf, len);
	if (d->st.faults.corruption)
		corrupt(d, buf, len);
	return CC_DISK_OK;
}

enum cc_disk_status cc_disk_write(struct cc_disk *d, uint64_t off,
				  const void *buf, uint64_t len)
{
	d->st.writes++;
	if (d->st.faults.full) {
		d->st.nospace++;
		return CC_DISK_NOSPC;
	}
	if (d->st.faults.write_error) {
		d->st.write_errors++;
		return CC_DISK_EIO;
	}
	if (d->st.faults.torn_write) {
		/* Power lost mid-write: a prefix of whole sectors lands (maybe
		 * none, never all) and the guest is told it all did. */
		uint64_t sectors = len / CC_SECTOR;
		uint64_t keep =
			sectors ? cc_entropy_u64(&d->st.rng) % sectors : 0;
		len = keep * CC_SECTOR;
		d->st.torn++;
	}
	return copy_in(d, off, buf, len) ? CC_DISK_EIO : CC_DISK_OK;
}

enum cc_disk_status cc_disk_flush(struct cc_disk *d)
{
	d->st.flushes++;
	if (d->st.faults.write_error) {
		d->st.write_errors++;
		return CC_DISK_EIO;
	}
	return CC_DISK_OK;
}

uint64_t cc_disk_overlay_pages(const struct cc_disk *d)
{
	return d->used;
}

static int by_index(const void *a, const void *b)
{
	const struct cc_disk_slot *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

int cc_disk_snap_take(const struct cc_disk *d, struct cc_disk_snap *s)
{
	s->n = 0;
	s->slot = malloc((d->used ? d->used : 1) * sizeof(*s->slot));
	if (!s->slot)
		return -1;
	for (uint64_t i = 0; i < d->cap; i++) {
		if (d->tab[i].index == EMPTY)
			continue;
		d->tab[i].page->refs++;
		s->slot[s->n++] = d->tab[i];
	}
	/* Sorted by page number, never by where pages sit in memory. */
	qsort(s->slot, s->n, sizeof(*s->slot), by_index);
	return 0;
}

int cc_disk_snap_restore(struct cc_disk *d, const struct cc_disk_snap *s)
{
	drop_overlay(d);
	for (uint64_t i = 0; i < s->n; i++) {
		if (insert(d, s->slot[i].index, s->slot[i].page))
			return -1;
		s->slot[i].page->refs++;
	}
	return 0;
}

void cc_disk_snap_free(struct cc_disk_snap *s)
{
	for (uint64_t i = 0; i < s->n; i++)
		unref(s->slot[i].page);
	free(s->slot);
	s->slot = NULL;
	s->n = 0;
}

int cc_disk_snap_from(struct cc_disk_snap *s, const uint64_t *index,
		      const uint8_t *data, uint64_t npages)
{
	s->n = 0;
	s->slot = calloc(npages ? npages : 1, sizeof(*s->slot));
	if (!s->slot)
		return -1;
	for (uint64_t i = 0; i < npages; i++) {
		struct cc_disk_page *p = malloc(sizeof(*p));
		if (!p) {
			cc_disk_snap_free(s);
			return -1;
		}
		p->refs = 1;
		memcpy(p->data, data + i * CC_DISK_PAGE, CC_DISK_PAGE);
		s->slot[s->n++] = (struct cc_disk_slot){index[i], p};
	}
	return 0;
}

int cc_disk_writeback(const struct cc_disk *d, const char *path,
		      struct cc_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return cc_err_set(err, "disk write-back: path too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cc_err_errno(err, "disk write-back: %s", tmp);
	uint64_t pages = (d->size + CC_DISK_PAGE - 1) / CC_DISK_PAGE;
	for (uint64_t i = 0; i < pages; i++) {
		if (cc_write_all(fd, page_data(d, i), page_len(d, i))) {
			cc_err_errno(err, "disk write-back: writing %s", tmp);
			goto fail;
		}
	}
	if (fsync(fd) < 0) {
		cc_err_errno(err, "disk write-back: syncing %s", tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		cc_err_errno(err, "disk write-back: renaming to %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}
