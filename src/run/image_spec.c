/*
 * Image specs (docs/IMAGES.md): JSON, read with jansson, every field
 * checked with a message that names it.
 *
 *   {"version": 1,
 *    "programs": ["/usr/bin/redis-server", {"src": "out/client",
 *                                           "dst": "/bin/client"}],
 *    "files":    [{"src": "redis.conf", "dst": "/etc/redis.conf",
 *                  "mode": "0644"}],
 *    "dirs":     ["/data", {"path": "/run/redis", "mode": "0700"}],
 *    "symlinks": [{"path": "/usr/bin/redis-cli", "target": "redis-server"}]}
 *
 * Relative sources are taken from the spec's directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fields.h"
#include "image.h"

#define SPEC_MAX (4u << 20) /* bytes of spec text */

/* Fails on any key of o not in the NULL-terminated list. */
static int only(json_t *o, const char *where, const char *const *keys,
		struct cc_err *err)
{
	return cc_fields_only(o, "image spec", where, keys, err);
}

static int string(json_t *o, const char *key, const char *where, bool required,
		  const char **out, struct cc_err *err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return cc_err_set(err,
				  "image spec: %s.%s: %s a non-empty string",
				  where, key, v ? "must be" : "missing:");
	*out = json_string_value(v);
	return 0;
}

/* "0644": octal permission bits; absent: dflt. */
static int mode_of(json_t *o, const char *where, int dflt, int *out,
		   struct cc_err *err)
{
	json_t *v = json_object_get(o, "mode");
	*out = dflt;
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	char *end;
	long m = s ? strtol(s, &end, 8) : -1;
	if (!s || !*s || *end || m < 0 || m > 07777)
		return cc_err_set(err,
				  "image spec: %s.mode: an octal string such "
				  "as \"0644\"",
				  where);
	*out = (int)m;
	return 0;
}

static void source(const char *dir, const char *src, char *out, size_t cap)
{
	if (src[0] == '/' || !dir)
		snprintf(out, cap, "%s", src);
	else
		snprintf(out, cap, "%s/%s", dir, src);
}

static json_t *list(json_t *root, const char *key, struct cc_err *err, int *rc)
{
	json_t *a = json_object_get(root, key);
	if (a && !json_is_array(a))
		*rc = cc_err_set(err, "image spec: %s: must be a list", key);
	return json_is_array(a) ? a : NULL;
}

static int programs(struct cc_image *img, json_t *a, const char *dir,
		    struct cc_err *err)
{
	static const char *const keys[] = {"src", "dst", NULL};
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char where[48], src[4096], dst[CC_IMAGE_PATH_MAX];
		snprintf(where, sizeof(where), "programs[%zu]", i);
		const char *s = json_string_value(v), *d = NULL;
		if (json_is_object(v) &&
		    (only(v, where, keys, err) ||
		     string(v, "src", where, true, &s, err) ||
		     string(v, "dst", where, false, &d, err)))
			return -1;
		if (!s || !*s)
			return cc_err_set(err,
					  "image spec: %s: a path or "
					  "{\"src\", \"dst\"}",
					  where);
		source(dir, s, src, sizeof(src));
		/* Default: an absolute source keeps its path, a relative
		 * one goes to /bin. */
		const char *base = strrchr(s, '/');
		if (!d)
			snprintf(dst, sizeof(dst),
				 s[0] == '/' ? "%s" : "/bin/%s",
				 s[0] == '/' ? s
				 : base	     ? base + 1
					     : s);
		else
			snprintf(dst, sizeof(dst), "%s", d);
		if (cc_image_add_program(img, src, dst, where, err))
			return -1;
	}
	return 0;
}

static int files(struct cc_image *img, json_t *a, const char *dir,
		 struct cc_err *err)
{
	static const char *const keys[] = {"src", "dst", "mode", NULL};
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char where[48], src[4096];
		snprintf(where, sizeof(where), "files[%zu]", i);
		const char *s, *d;
		int mode;
		if (!json_is_object(v))
			return cc_err_set(err,
					  "image spec: %s: an object "
					  "{\"src\", \"dst\", \"mode\"}",
					  where);
		if (only(v, where, keys, err) ||
		    string(v, "src", where, true, &s, err) ||
		    string(v, "dst", where, true, &d, err) ||
		    mode_of(v, where, -1, &mode, err))
			return -1;
		source(dir, s, src, sizeof(src));
		if (cc_image_add_file(img, src, d, mode, where, err))
			return -1;
	}
	return 0;
}

static int dirs(struct cc_image *img, json_t *a, struct cc_err *err)
{
	static const char *const keys[] = {"path", "mode", NULL};
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char where[48];
		snprintf(where, sizeof(where), "dirs[%zu]", i);
		const char *p = json_string_value(v);
		int mode = 0755;
		if (json_is_object(v) &&
		    (only(v, where, keys, err) ||
		     string(v, "path", where, true, &p, err) ||
		     mode_of(v, where, 0755, &mode, err)))
			return -1;
		if (!p)
			return cc_err_set(err,
					  "image spec: %s: a path or "
					  "{\"path\", \"mode\"}",
					  where);
		if (cc_image_add_dir(img, p, (unsigned)mode, where, err))
			return -1;
	}
	return 0;
}

static int symlinks(struct cc_image *img, json_t *a, struct cc_err *err)
{
	static const char *const keys[] = {"path", "target", NULL};
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char where[48];
		snprintf(where, sizeof(where), "symlinks[%zu]", i);
		const char *p, *t;
		if (!json_is_object(v))
			return cc_err_set(err,
					  "image spec: %s: an object "
					  "{\"path\", \"target\"}",
					  where);
		if (only(v, where, keys, err) ||
		    string(v, "path", where, true, &p, err) ||
		    string(v, "target", where, true, &t, err) ||
		    cc_image_add_symlink(img, p, t, where, err))
			return -1;
	}
	return 0;
}

int cc_image_parse_spec(struct cc_image *img, const char *text, size_t len,
			const char *dir, struct cc_err *err)
{
	if (len > SPEC_MAX)
		return cc_err_set(err, "image spec: over %u bytes", SPEC_MAX);
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return cc_err_set(err, "image spec: line %d: %s", je.line,
				  je.text);
	static const char *const keys[] = {"version", "programs", "files",
					   "dirs",    "symlinks", NULL};
	int rc = 0;
	json_t *ver = json_object_get(root, "version");
	if (!json_is_object(root))
		rc = cc_err_set(err, "image spec: must be a JSON object");
	else if (only(root, "top level", keys, err))
		rc = -1;
	else if (!json_is_integer(ver) ||
		 json_integer_value(ver) != CC_IMAGE_SPEC_VERSION)
		rc = cc_err_set(err,
				"image spec: version: must be %d (this "
				"build reads version %d)",
				CC_IMAGE_SPEC_VERSION, CC_IMAGE_SPEC_VERSION);
	json_t *p = rc ? NULL : list(root, "programs", err, &rc);
	json_t *f = rc ? NULL : list(root, "files", err, &rc);
	json_t *d = rc ? NULL : list(root, "dirs", err, &rc);
	json_t *s = rc ? NULL : list(root, "symlinks", err, &rc);
	if (!rc)
		rc = programs(img, p, dir, err) || files(img, f, dir, err) ||
				     dirs(img, d, err) || symlinks(img, s, err)
			     ? -1
			     : 0;
	json_decref(root);
	return rc;
}

int cc_image_load_spec(struct cc_image *img, const char *path,
		       struct cc_err *err)
{
	char *text, dir[4096];
	size_t n;
	if (cc_fields_read(path, "image spec", SPEC_MAX, &text, &n, dir,
			   sizeof(dir), err))
		return -1;
	int rc = cc_image_parse_spec(img, text, n, dir, err);
	free(text);
	return rc;
}

/* Loads spec and writes it into the store as HASH.ext, named by its
 * content: the same spec and inputs, the same file (and, for an
 * initramfs, the same boot cache entry).  ext "img": an image disk. */
static int build_into(struct cc_image *img, const char *spec, const char *base,
		      const char *ext, const char *store, char *out, size_t cap,
		      struct cc_err *err)
{
	bool disk = !strcmp(ext, "img");
	char tmp[4096], hash[33];
	if (cc_image_load_spec(img, spec, err))
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s/new-%d.%s", store, (int)getpid(),
		     ext) >= (int)sizeof(tmp))
		return cc_err_set(err, "image store: path too long");
	if (disk ? cc_image_write_fs(img, tmp, hash, err)
		 : cc_image_write(img, base, tmp, hash, err))
		return -1;
	if (snprintf(out, cap, "%s/%s.%s", store, hash, ext) >= (int)cap ||
	    rename(tmp, out) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return cc_err_errno(err, "image store: %s", out);
	}
	return 0;
}

int cc_image_build(struct cc_image *img, const char *spec, const char *base,
		   const char *store, char *out, size_t cap, struct cc_err *err)
{
	return build_into(img, spec, base, "cpio", store, out, cap, err);
}

int cc_image_build_disk(struct cc_image *img, const char *spec,
			const char *store, char *out, size_t cap,
			struct cc_err *err)
{
	return build_into(img, spec, NULL, "img", store, out, cap, err);
}

int cc_image_resolve(const char *path, const char *store, char *out, size_t cap,
		     bool *as_disk, struct cc_err *err)
{
	size_t len = strlen(path);
	if (len >= 5 && !strcmp(path + len - 5, ".json")) {
		struct cc_image img;
		cc_image_init(&img, NULL);
		int rc = cc_image_build_disk(&img, path, store, out, cap, err);
		cc_image_free(&img);
		*as_disk = true;
		return rc;
	}
	/* A file: a newc archive (070701 at 0) or ext4 (0xEF53 at 1080). */
	uint8_t head[1082] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cc_err_errno(err, "image %s", path);
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (snprintf(out, cap, "%s", path) >= (int)cap)
		return cc_err_set(err, "image: path too long");
	if (n >= 6 && !memcmp(head, "070701", 6)) {
		*as_disk = false;
		return 0;
	}
	if (n == (ssize_t)sizeof(head) && head[1080] == 0x53 &&
	    head[1081] == 0xEF) {
		*as_disk = true;
		return 0;
	}
	return cc_err_set(err,
			  "image %s: neither an image spec (.json), an "
			  "image disk (ext4) nor a newc archive",
			  path);
}
