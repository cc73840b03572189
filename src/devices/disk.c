#define _GNU_SOURCE
#include "disk.h"

#include "../vmm/kernel.h"
#include "../base/check.h"
#include "../base/file.h"

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
	int file = d->fd;
	int rc = cc_file_freeze(file, d->size, "disk image", path, &d->image,
				&d->fd, err);
	close(file);
	if (rc) {
		cc_disk_close(d);
		return -1;
	}
	d->image_len = d->size;
	cc_entropy_init(&d->st.rng, seed + CC_DOMAIN_DISK);
	return 0;
}

void cc_disk_blank(struct cc_disk *d, uint64_t size, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->size = size / CC_SECTOR * CC_SECTOR;
	cc_entropy_init(&d->st.rng, seed + CC_DOMAIN_DISK);
}

int cc_disk_attach(struct cc_disk *d, const char *path, struct cc_err *err)
{
	cc_disk_detach(d);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return cc_err_errno(err, "image disk %s", path);
	}
	uint64_t len = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode) || len == 0 || len > d->size) {
		close(fd);
		return cc_err_set(err,
				  "image disk %s: not a regular file of 1 "
				  "byte to %llu MiB",
				  path, (unsigned long long)(d->size >> 20));
	}
	int rc = cc_file_freeze(fd, len, "image disk", path, &d->image, &d->fd,
				err);
	close(fd);
	if (rc)
		return -1;
	d->image_len = len;
	return 0;
}

void cc_disk_detach(struct cc_disk *d)
{
	if (d->image)
		munmap((void *)d->image, d->image_len);
	if (d->fd >= 0)
		close(d->fd);
	d->image = NULL;
	d->image_len = 0;
	d->fd = -1;
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

static void drop_slots(struct cc_disk_slot *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		unref(s[i].page);
	free(s);
}

/* A copy of n slots, each taking a reference. */
static struct cc_disk_slot *copy_slots(const struct cc_disk_slot *s, uint64_t n)
{
	struct cc_disk_slot *c = malloc((n ? n : 1) * sizeof(*c));
	if (!c)
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		c[i] = s[i];
		c[i].page->refs++;
	}
	return c;
}

void cc_disk_close(struct cc_disk *d)
{
	drop_overlay(d);
	drop_slots(d->dur, d->ndur);
	d->dur = NULL;
	d->ndur = 0;
	cc_disk_detach(d);
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

static const uint8_t zero_page[CC_DISK_PAGE];

/* The image's page (a mapping reads zeros past the file's end within
 * its last page), or zeros past it. */
static const uint8_t *image_page(const struct cc_disk *d, uint64_t index)
{
	return d->image && index < (d->image_len + CC_DISK_PAGE - 1) /
					       CC_DISK_PAGE
		       ? d->image + index * CC_DISK_PAGE
		       : zero_page;
}

static const uint8_t *page_data(const struct cc_disk *d, uint64_t index)
{
	const struct cc_disk_slot *s = find(d, index);
	return s ? s->page->data : image_page(d, index);
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

static int by_index(const void *a, const void *b)
{
	const struct cc_disk_slot *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The overlay's slots, each taking a reference, sorted by page number
 * (never by where pages sit in memory). */
static struct cc_disk_slot *sorted_overlay(const struct cc_disk *d, uint64_t *n)
{
	struct cc_disk_slot *s = malloc((d->used ? d->used : 1) * sizeof(*s));
	*n = 0;
	if (!s)
		return NULL;
	for (uint64_t i = 0; i < d->cap; i++) {
		if (d->tab[i].index == EMPTY)
			continue;
		d->tab[i].page->refs++;
		s[(*n)++] = d->tab[i];
	}
	qsort(s, *n, sizeof(*s), by_index);
	return s;
}

/* The overlay becomes these n slots (each taking a reference). */
static int set_overlay(struct cc_disk *d, const struct cc_disk_slot *s,
		       uint64_t n)
{
	drop_overlay(d);
	for (uint64_t i = 0; i < n; i++) {
		if (insert(d, s[i].index, s[i].page))
			return -1;
		s[i].page->refs++;
	}
	return 0;
}

/* Everything written so far is durable now. */
static int make_durable(struct cc_disk *d)
{
	uint64_t n;
	struct cc_disk_slot *now = sorted_overlay(d, &n);
	if (!now)
		return -1;
	drop_slots(d->dur, d->ndur);
	d->dur = now;
	d->ndur = n;
	return 0;
}

enum cc_disk_status cc_disk_flush(struct cc_disk *d)
{
	d->st.flushes++;
	if (d->st.faults.write_error) {
		d->st.write_errors++;
		return CC_DISK_EIO;
	}
	return make_durable(d) ? CC_DISK_EIO : CC_DISK_OK;
}

uint64_t cc_disk_overlay_pages(const struct cc_disk *d)
{
	return d->used;
}

/* The durable page of now[i] (both lists sorted; *j walks dur), NULL
 * where the durable disk holds the image's bytes. */
static const struct cc_disk_page *durable_of(const struct cc_disk_slot *dur,
					     uint64_t ndur, uint64_t *j,
					     uint64_t index)
{
	while (*j < ndur && dur[*j].index < index)
		(*j)++;
	return *j < ndur && dur[*j].index == index ? dur[*j].page : NULL;
}

uint64_t cc_disk_unflushed_pages(const struct cc_disk *d)
{
	uint64_t n, m = 0, j = 0;
	struct cc_disk_slot *now = sorted_overlay(d, &n);
	for (uint64_t i = 0; now && i < n; i++)
		m += durable_of(d->dur, d->ndur, &j, now[i].index) !=
		     now[i].page;
	if (now)
		drop_slots(now, n);
	return m;
}

int cc_disk_power_loss(struct cc_disk *d)
{
	return set_overlay(d, d->dur, d->ndur);
}

/* What a page held before it was written since the last flush. */
static const uint8_t *durable_data(const struct cc_disk *d,
				   const struct cc_disk_page *old,
				   uint64_t index)
{
	if (old)
		return old->data;
	return image_page(d, index);
}

/* One unflushed page at a crash: lands, is lost, or tears. */
static int crash_page(struct cc_disk *d, uint64_t index, const uint8_t *was)
{
	uint64_t fate = cc_entropy_u64(&d->st.rng) % 3;
	if (fate == 0) {
		d->st.crash_landed++;
		return 0;
	}
	uint8_t *p = writable(d, index); /* shared with `now`: a copy */
	if (!p)
		return -1;
	uint64_t len = page_len(d, index);
	for (uint64_t s = 0; s < len; s += CC_SECTOR)
		if (fate == 1 || cc_entropy_u64(&d->st.rng) & 1)
			memcpy(p + s, was + s, CC_SECTOR);
	if (fate == 1)
		d->st.crash_lost++;
	else
		d->st.crash_torn++;
	return 0;
}

int cc_disk_crash(struct cc_disk *d)
{
	uint64_t n, j = 0;
	struct cc_disk_slot *now = sorted_overlay(d, &n);
	if (!now)
		return -1;
	int rc = 0;
	for (uint64_t i = 0; i < n && !rc; i++) {
		const struct cc_disk_page *old =
			durable_of(d->dur, d->ndur, &j, now[i].index);
		if (old != now[i].page)
			rc = crash_page(d, now[i].index,
					durable_data(d, old, now[i].index));
	}
	drop_slots(now, n);
	return rc ? rc : make_durable(d);
}

int cc_disk_snap_take(const struct cc_disk *d, struct cc_disk_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->slot = sorted_overlay(d, &s->n);
	s->dur = copy_slots(d->dur, d->ndur);
	s->ndur = d->ndur;
	if (s->slot && s->dur)
		return 0;
	cc_disk_snap_free(s);
	return -1;
}

int cc_disk_snap_restore(struct cc_disk *d, const struct cc_disk_snap *s)
{
	if (set_overlay(d, s->slot, s->n))
		return -1;
	struct cc_disk_slot *dur = copy_slots(s->dur, s->ndur);
	if (!dur)
		return -1;
	drop_slots(d->dur, d->ndur);
	d->dur = dur;
	d->ndur = s->ndur;
	return 0;
}

void cc_disk_snap_free(struct cc_disk_snap *s)
{
	if (s->slot)
		drop_slots(s->slot, s->n);
	if (s->dur)
		drop_slots(s->dur, s->ndur);
	memset(s, 0, sizeof(*s));
}

uint64_t cc_disk_snap_unflushed(const struct cc_disk_snap *s, uint64_t *index,
				const struct cc_disk_page **page)
{
	uint64_t m = 0, j = 0;
	for (uint64_t i = 0; i < s->n; i++) {
		const struct cc_disk_page *old =
			durable_of(s->dur, s->ndur, &j, s->slot[i].index);
		if (old == s->slot[i].page)
			continue;
		index[m] = s->slot[i].index;
		page[m++] = old;
	}
	return m;
}

int cc_disk_snap_unflushed_from(struct cc_disk_snap *s, const uint64_t *index,
				const uint8_t *present, const uint8_t *data,
				uint64_t m)
{
	struct cc_disk_slot *dur = malloc((s->n ? s->n : 1) * sizeof(*dur));
	if (!dur)
		return -1;
	uint64_t nd = 0, k = 0;
	for (uint64_t i = 0; i < s->n; i++) {
		if (k < m && index[k] < s->slot[i].index)
			break; /* not a page of the overlay, or out of order */
		if (k == m || index[k] != s->slot[i].index) {
			dur[nd] = s->slot[i];
			dur[nd++].page->refs++;
			continue;
		}
		if (present[k]) {
			struct cc_disk_page *p = malloc(sizeof(*p));
			if (!p)
				break;
			p->refs = 1;
			memcpy(p->data, data, CC_DISK_PAGE);
			data += CC_DISK_PAGE;
			dur[nd++] = (struct cc_disk_slot){index[k], p};
		}
		k++;
	}
	if (k != m) {
		drop_slots(dur, nd);
		return -1;
	}
	drop_slots(s->dur, s->ndur);
	s->dur = dur;
	s->ndur = nd;
	return 0;
}

int cc_disk_snap_from(struct cc_disk_snap *s, const uint64_t *index,
		      const uint8_t *data, uint64_t npages)
{
	memset(s, 0, sizeof(*s));
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
	s->dur = copy_slots(s->slot, s->n);
	s->ndur = s->n;
	if (!s->dur) {
		cc_disk_snap_free(s);
		return -1;
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

const char *cc_disk_state_check(const struct cc_disk_state *st)
{
	const struct cc_disk_faults *f = &st->faults;
	const bool *flags[] = {&f->read_error, &f->write_error, &f->torn_write,
			       &f->corruption, &f->full};
	return cc_bools_ok(flags, sizeof(flags) / sizeof(flags[0]))
		       ? NULL
		       : "disk fault flag that is neither 0 nor 1";
}
