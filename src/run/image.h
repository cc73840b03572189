/*
 * A guest image: the user's programs, their libraries, config files,
 * directories and symbolic links, packed as a newc archive laid over the
 * base initramfs (the kernel unpacks concatenated archives in order).
 * `chaoscontrol image build SPEC.json` makes one (docs/IMAGES.md).
 *
 * An image is a sorted list of entries with guest paths; every parent
 * directory is implied.  Building is deterministic: the same inputs give
 * the same bytes (sorted entries, zero times, root owner, inode numbers
 * by position), so the same boot cache entry.  Images are stored under
 * their own content hash.  Written to a temporary name, then renamed.
 */
#ifndef CC_IMAGE_H
#define CC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "chaoscontrol/protocol.h"

#define CC_IMAGE_SPEC_VERSION 1
#define CC_IMAGE_PATH_MAX     1024

enum cc_image_kind { CC_IMAGE_FILE, CC_IMAGE_DIR, CC_IMAGE_SYMLINK };

struct cc_image_entry {
	char *path; /* in the guest: absolute, normalised */
	enum cc_image_kind kind;
	unsigned mode;	 /* permission bits */
	char *src;	 /* FILE: the host file */
	char *target;	 /* SYMLINK */
	char origin[64]; /* "files[2]", "programs[0] (library)": for errors */
};

struct cc_image_limits {
	uint64_t file_max;  /* bytes of one file */
	uint64_t total_max; /* bytes of all files */
	size_t entries_max;
};

/* 256 MiB per file, 1 GiB in all, 65536 entries. */
extern const struct cc_image_limits cc_image_default_limits;

struct cc_image {
	struct cc_image_entry *v;
	size_t n, cap;
	struct cc_image_limits lim;
	uint64_t bytes; /* file contents, summed */
	size_t programs, libraries;
};

void cc_image_init(struct cc_image *img, const struct cc_image_limits *lim);
void cc_image_free(struct cc_image *img);

/*
 * Adding entries (the spec loader's primitives).  `origin` names the
 * spec field in errors.  Paths are checked (absolute, no "." or ".."
 * parts, at most CC_IMAGE_PATH_MAX) and normalised ("//" collapsed, a
 * trailing "/" dropped); a path given twice, a file over the size
 * limit or a source that is not a regular file is an error.
 */
int cc_image_add_file(struct cc_image *img, const char *src, const char *path,
		      int mode, const char *origin,
		      struct cc_err *err); /* mode < 0: the source's */
int cc_image_add_dir(struct cc_image *img, const char *path, unsigned mode,
		     const char *origin, struct cc_err *err);
int cc_image_add_symlink(struct cc_image *img, const char *path,
			 const char *target, const char *origin,
			 struct cc_err *err);
/* An ELF program at path, plus its interpreter and shared objects. */
int cc_image_add_program(struct cc_image *img, const char *src,
			 const char *path, const char *origin,
			 struct cc_err *err);

/* An image spec (JSON, docs/IMAGES.md) into img: text of len bytes whose
 * relative sources are under dir; or the file at path. */
int cc_image_parse_spec(struct cc_image *img, const char *text, size_t len,
			const char *dir, struct cc_err *err);
int cc_image_load_spec(struct cc_image *img, const char *path,
		       struct cc_err *err);

/*
 * Writes base (a newc archive; NULL for none) followed by the image's
 * archive to out (temp name, fsync, rename).  Checks on the way: parent
 * paths that are files or links, files that changed size while read.
 * *hash (if non-NULL) gets the output's XXH3-128 as 32 hex digits.
 */
int cc_image_write(struct cc_image *img, const char *base, const char *out,
		   char hash[33], struct cc_err *err);

/* Adds the implied parent directories and checks the tree (no parent
 * that is a file or a link); the writers call it. */
int cc_image_layout(struct cc_image *img, struct cc_err *err);

/*
 * Writes the image alone (no base) as a read-only ext4 file system for
 * the image disk (protocol.h: CC_VIRTIO_IMG_GPA), which init lays over
 * its root after the ready point, so one cached boot serves every
 * image.  Same inputs, same bytes; temp name, fsync, rename.
 */
#define CC_IMAGE_FS_MAX CC_IMAGE_DISK_BYTES
int cc_image_write_fs(struct cc_image *img, const char *out, char hash[33],
		      struct cc_err *err);

/* A blank ext4 file system (with a journal, and lost+found) of bytes:
 * a reproducible data disk for `data_disk: {"size": ...}`. */
#define CC_BLANK_FS_MIN (8ull << 20)
#define CC_BLANK_FS_MAX (64ull << 30)
int cc_image_write_blank_fs(uint64_t bytes, const char *out,
			    struct cc_err *err);
/* The blank disk of bytes in the store (made once), named in out. */
int cc_image_blank_in_store(uint64_t bytes, const char *store, char *out,
			    size_t cap, struct cc_err *err);

/* Loads spec into img and writes it over base into the store directory
 * as HASH.cpio (its XXH3-128), naming the result in out. */
int cc_image_build(struct cc_image *img, const char *spec, const char *base,
		   const char *store, char *out, size_t cap,
		   struct cc_err *err);

/* The same, written as an image disk (cc_image_write_fs): HASH.img. */
int cc_image_build_disk(struct cc_image *img, const char *spec,
			const char *store, char *out, size_t cap,
			struct cc_err *err);

/*
 * What a node's image names, into out: an image spec (.json), built into
 * store as an image disk; an image disk (ext4) as it is; or a newc
 * archive, an initramfs (*as_disk false: booted, so a boot of its own).
 */
int cc_image_resolve(const char *path, const char *store, char *out, size_t cap,
		     bool *as_disk, struct cc_err *err);

#endif
