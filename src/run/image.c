#define _GNU_SOURCE
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "../base/array.h"
#include "../vmm/kernel.h"
#include "elfdeps.h"
#include "../base/file.h"

const struct cc_image_limits cc_image_default_limits = {
	.file_max = 256ull << 20,
	.total_max = 1ull << 30,
	.entries_max = 65536,
};

static const char implied[] = "implied";

void cc_image_init(struct cc_image *img, const struct cc_image_limits *lim)
{
	memset(img, 0, sizeof(*img));
	img->lim = lim ? *lim : cc_image_default_limits;
}

static void entry_free(struct cc_image_entry *x)
{
	free(x->path);
	free(x->src);
	free(x->target);
}

void cc_image_free(struct cc_image *img)
{
	for (size_t i = 0; i < img->n; i++)
		entry_free(&img->v[i]);
	free(img->v);
	memset(img, 0, sizeof(*img));
}

/* Absolute, no "." or ".." parts, "//" collapsed, no trailing "/". */
static int normalise(const char *path, char *out, const char *origin,
		     struct cc_err *err)
{
	if (!path || path[0] != '/')
		return cc_err_set(err, "%s: \"%s\" is not an absolute path",
				  origin, path ? path : "");
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return cc_err_set(err,
					  "%s: \"%s\" has a \".\" or \"..\" "
					  "part (paths stay inside the image)",
					  origin, path);
		if (o + 1 + len >= CC_IMAGE_PATH_MAX)
			return cc_err_set(err, "%s: path longer than %d bytes",
					  origin, CC_IMAGE_PATH_MAX - 1);
		out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	if (!o)
		return cc_err_set(err, "%s: \"%s\" is the image's root", origin,
				  path);
	out[o] = 0;
	return 0;
}

static struct cc_image_entry *push(struct cc_image *img, const char *path,
				   enum cc_image_kind kind, unsigned mode,
				   const char *origin, struct cc_err *err)
{
	char norm[CC_IMAGE_PATH_MAX];
	if (normalise(path, norm, origin, err))
		return NULL;
	if (img->n >= img->lim.entries_max) {
		cc_err_set(err, "%s: more than %zu entries in the image",
			   origin, img->lim.entries_max);
		return NULL;
	}
	if (cc_array_grow(&img->v, &img->cap, img->n, sizeof(*img->v), 64)) {
		cc_err_set(err, "out of memory");
		return NULL;
	}
	struct cc_image_entry *x = &img->v[img->n];
	memset(x, 0, sizeof(*x));
	x->path = strdup(norm);
	if (!x->path) {
		cc_err_set(err, "out of memory");
		return NULL;
	}
	x->kind = kind;
	x->mode = mode & 07777;
	snprintf(x->origin, sizeof(x->origin), "%s", origin);
	img->n++;
	return x;
}

int cc_image_add_file(struct cc_image *img, const char *src, const char *path,
		      int mode, const char *origin, struct cc_err *err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return cc_err_errno(err, "%s: %s", origin, src);
	if (!S_ISREG(st.st_mode))
		return cc_err_set(err, "%s: %s is not a regular file", origin,
				  src);
	if ((uint64_t)st.st_size > img->lim.file_max)
		return cc_err_set(err,
				  "%s: %s is %llu bytes, over the limit of "
				  "%llu per file",
				  origin, src, (unsigned long long)st.st_size,
				  (unsigned long long)img->lim.file_max);
	if (img->bytes + (uint64_t)st.st_size > img->lim.total_max)
		return cc_err_set(err,
				  "%s: the image would pass its limit of "
				  "%llu bytes",
				  origin,
				  (unsigned long long)img->lim.total_max);
	struct cc_image_entry *x = push(
		img, path, CC_IMAGE_FILE,
		mode < 0 ? st.st_mode & 0777 : (unsigned)mode, origin, err);
	if (!x)
		return -1;
	if (!(x->src = strdup(src)))
		return cc_err_set(err, "out of memory");
	img->bytes += (uint64_t)st.st_size;
	return 0;
}

int cc_image_add_dir(struct cc_image *img, const char *path, unsigned mode,
		     const char *origin, struct cc_err *err)
{
	return push(img, path, CC_IMAGE_DIR, mode, origin, err) ? 0 : -1;
}

int cc_image_add_symlink(struct cc_image *img, const char *path,
			 const char *target, const char *origin,
			 struct cc_err *err)
{
	if (!target || !*target || strlen(target) >= CC_IMAGE_PATH_MAX)
		return cc_err_set(err, "%s: a link target of 1 to %d bytes",
				  origin, CC_IMAGE_PATH_MAX - 1);
	struct cc_image_entry *x =
		push(img, path, CC_IMAGE_SYMLINK, 0777, origin, err);
	if (!x)
		return -1;
	return (x->target = strdup(target)) ? 0
					    : cc_err_set(err, "out of memory");
}

int cc_image_add_program(struct cc_image *img, const char *src,
			 const char *path, const char *origin,
			 struct cc_err *err)
{
	struct cc_elf_deps d = {0};
	char lib[64];
	snprintf(lib, sizeof(lib), "%.40s (library)", origin);
	int rc = cc_elf_deps_resolve(&d, src, path, origin, err) ||
				 cc_image_add_file(img, src, path, 0755, origin,
						   err)
			 ? -1
			 : 0;
	for (size_t i = 0; !rc && i < d.n; i++)
		rc = cc_image_add_file(img, d.v[i].host_path, d.v[i].guest_path,
				       0755, lib, err);
	if (!rc) {
		img->programs++;
		img->libraries += d.n;
	}
	cc_elf_deps_free(&d);
	return rc;
}

/* ---- layout: sorted, duplicates merged, parents implied ---------------- */

/* By path, ties by origin: the same order from any qsort. */
static int by_path(const void *a, const void *b)
{
	const struct cc_image_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : strcmp(x->origin, y->origin);
}

static bool same(const struct cc_image_entry *a, const struct cc_image_entry *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == CC_IMAGE_DIR)
		return !strcmp(a->origin, implied) ||
		       !strcmp(b->origin, implied) || a->mode == b->mode;
	if (a->kind == CC_IMAGE_SYMLINK)
		return !strcmp(a->target, b->target);
	return a->mode == b->mode && !strcmp(a->src, b->src);
}

/* Sorts, then merges equal entries (a library two programs need, a
 * directory also implied); anything else given twice is an error. */
static int merge(struct cc_image *img, struct cc_err *err)
{
	qsort(img->v, img->n, sizeof(*img->v), by_path);
	size_t o = 0;
	for (size_t i = 0; i < img->n; i++) {
		struct cc_image_entry *x = &img->v[i];
		if (o && !strcmp(img->v[o - 1].path, x->path)) {
			struct cc_image_entry *k = &img->v[o - 1];
			if (!same(k, x))
				return cc_err_set(err,
						  "%s and %s both give %s, "
						  "differently",
						  k->origin, x->origin,
						  x->path);
			if (!strcmp(k->origin, implied)) {
				entry_free(k);
				*k = *x;
			} else {
				entry_free(x);
			}
			continue;
		}
		img->v[o++] = *x;
	}
	img->n = o;
	return 0;
}

/* No entry may lie under a file or a link. */
static int check_parents(const struct cc_image *img, struct cc_err *err)
{
	for (size_t i = 0; i + 1 < img->n; i++) {
		const struct cc_image_entry *a = &img->v[i];
		size_t len = strlen(a->path);
		if (a->kind == CC_IMAGE_DIR)
			continue;
		for (size_t j = i + 1; j < img->n; j++) {
			const struct cc_image_entry *b = &img->v[j];
			if (strncmp(b->path, a->path, len))
				break;
			if (b->path[len] == '/')
				return cc_err_set(
					err,
					"%s puts %s under %s, which "
					"%s makes a %s",
					b->origin, b->path, a->path, a->origin,
					a->kind == CC_IMAGE_FILE ? "file"
								 : "link");
		}
	}
	return 0;
}

/* Sorted and merged, checked, then every missing parent directory
 * (mode 0755) added. */
int cc_image_layout(struct cc_image *img, struct cc_err *err)
{
	if (merge(img, err) || check_parents(img, err))
		return -1;
	size_t n = img->n;
	for (size_t i = 0; i < n; i++) {
		char p[CC_IMAGE_PATH_MAX];
		snprintf(p, sizeof(p), "%s", img->v[i].path);
		for (char *s = strrchr(p, '/'); s && s != p;
		     s = strrchr(p, '/')) {
			*s = 0;
			if (!push(img, p, CC_IMAGE_DIR, 0755, implied, err))
				return -1;
		}
	}
	return merge(img, err);
}

/* ---- writing ------------------------------------------------------------ */

struct out {
	int fd;
	XXH3_state_t *h;
	struct cc_err *err;
	bool failed;
};

static int out_write(struct out *o, const void *p, size_t n)
{
	if (cc_write_all(o->fd, p, n))
		return cc_err_errno(o->err, "image: write");
	XXH3_128bits_update(o->h, p, n);
	return 0;
}

/* libarchive's sink: through out_write, so the hash sees every byte. */
static la_ssize_t sink(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	struct out *o = ctx;
	if (out_write(o, p, n)) {
		o->failed = true;
		return -1;
	}
	return (la_ssize_t)n;
}

/* The base archive, padded so the next one starts 4-byte aligned. */
static int copy_base(struct out *o, const char *base)
{
	uint8_t *data;
	size_t len;
	if (cc_read_file(base, "base initramfs", &data, &len, o->err))
		return -1;
	if (len < 6 || memcmp(data, "070701", 6)) {
		free(data);
		return cc_err_set(o->err,
				  "image: base %s is not a newc cpio archive",
				  base);
	}
	static const uint8_t zero[4];
	int rc =
		out_write(o, data, len) || out_write(o, zero, (4 - len % 4) % 4)
			? -1
			: 0;
	free(data);
	return rc;
}

/* A file's bytes, exactly the size its header announced. */
static int copy_file(struct archive *a, const struct cc_image_entry *x,
		     uint64_t size, struct cc_err *err)
{
	int fd = open(x->src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cc_err_errno(err, "%s: %s", x->origin, x->src);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cc_err_set(err, "%s: %s is no longer a regular file",
				  x->origin, x->src);
	}
	static char buf[1 << 16];
	uint64_t done = 0;
	int rc = 0;
	while (!rc) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = cc_err_errno(err, "%s: %s", x->origin, x->src);
		else if (n == 0)
			break;
		else if (done + (uint64_t)n > size)
			rc = cc_err_set(err, "%s: %s grew while being packed",
					x->origin, x->src);
		else if (archive_write_data(a, buf, (size_t)n) != n)
			rc = cc_err_set(err, "image: %s",
					archive_error_string(a));
		done += n > 0 ? (uint64_t)n : 0;
	}
	close(fd);
	if (!rc && done != size)
		rc = cc_err_set(err, "%s: %s shrank while being packed",
				x->origin, x->src);
	return rc;
}

static int write_entry(struct archive *a, const struct cc_image_entry *x,
		       int64_t ino, struct cc_err *err)
{
	struct stat st = {0};
	if (x->kind == CC_IMAGE_FILE && stat(x->src, &st) < 0)
		return cc_err_errno(err, "%s: %s", x->origin, x->src);
	struct archive_entry *ae = archive_entry_new();
	if (!ae)
		return cc_err_set(err, "out of memory");
	archive_entry_set_pathname(ae, x->path + 1); /* no leading '/' */
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, 0, 0);
	archive_entry_set_ino64(ae, ino);
	archive_entry_set_dev(ae, 0);
	archive_entry_set_perm(ae, x->mode);
	if (x->kind == CC_IMAGE_DIR) {
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_size(ae, 0);
		archive_entry_set_nlink(ae, 2);
	} else if (x->kind == CC_IMAGE_SYMLINK) {
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, x->target);
		archive_entry_set_size(ae, (la_int64_t)strlen(x->target));
		archive_entry_set_nlink(ae, 1);
	} else {
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, st.st_size);
		archive_entry_set_nlink(ae, 1);
	}
	int rc = archive_write_header(a, ae) != ARCHIVE_OK
			 ? cc_err_set(err, "image: %s: %s", x->path,
				      archive_error_string(a))
			 : 0;
	archive_entry_free(ae);
	if (!rc && x->kind == CC_IMAGE_FILE)
		rc = copy_file(a, x, (uint64_t)st.st_size, err);
	return rc;
}

static int write_archive(struct out *o, const struct cc_image *img)
{
	struct archive *a = archive_write_new();
	if (!a)
		return cc_err_set(o->err, "out of memory");
	int rc = 0;
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, o, NULL, sink, NULL) != ARCHIVE_OK)
		rc = cc_err_set(o->err, "image: %s", archive_error_string(a));
	for (size_t i = 0; !rc && i < img->n; i++)
		rc = write_entry(a, &img->v[i], (int64_t)i + 1, o->err);
	if (!rc && archive_write_close(a) != ARCHIVE_OK)
		rc = o->failed ? -1
			       : cc_err_set(o->err, "image: %s",
					    archive_error_string(a));
	archive_write_free(a);
	return rc;
}

int cc_image_write(struct cc_image *img, const char *base, const char *out,
		   char hash[33], struct cc_err *err)
{
	if (cc_image_layout(img, err))
		return -1;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cc_err_errno(err, "image: %s", tmp);
	struct out o = {fd, XXH3_createState(), err, false};
	int rc = o.h ? 0 : cc_err_set(err, "out of memory");
	if (!rc)
		XXH3_128bits_reset(o.h);
	if (!rc && base)
		rc = copy_base(&o, base);
	if (!rc)
		rc = write_archive(&o, img);
	if (!rc && fsync(fd) < 0)
		rc = cc_err_errno(err, "image: fsync %s", tmp);
	if (close(fd) < 0 && !rc)
		rc = cc_err_errno(err, "image: close %s", tmp);
	if (!rc && rename(tmp, out) < 0)
		rc = cc_err_errno(err, "image: rename to %s", out);
	if (rc)
		unlink(tmp);
	else if (hash) {
		XXH128_hash_t h = XXH3_128bits_digest(o.h);
		snprintf(hash, 33, "%016llx%016llx",
			 (unsigned long long)h.high64,
			 (unsigned long long)h.low64);
	}
	if (o.h)
		XXH3_freeState(o.h);
	return rc;
}
