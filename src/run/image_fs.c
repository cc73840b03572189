/*
 * An image as a read-only ext4 file system (the image disk's "layer"),
 * written with libext2fs from the image's sorted entry list.
 *
 * Why a file system and not the newc archive: the archive has to be in
 * the boot (the kernel unpacks it before init), so each image costs a
 * cold boot and its unpacking runs as emulated kernel code on PVM.  A
 * file system on the image disk is attached after the boot cache's
 * ready point, and the guest reads only the pages it touches, copied by
 * the VMM's virtio-blk, not by the guest's CPU.
 *
 * Deterministic: entries are added in path order, every inode and the
 * superblock get time 0 (fs->now), uuid and hash seed stay zero, owner
 * root; the same entries give the same bytes.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ext2fs/ext2fs.h>
#include <xxhash.h>

#include "../base/err.h"
#include "../base/file.h"

#define FS_BLOCK 4096u

static int fs_err(struct cc_err *err, errcode_t rc, const char *what,
		  const char *path)
{
	return cc_err_set(err, "image file system: %s %s: %s", what,
			  path ? path : "", error_message(rc));
}

/* The directory holding path, and path's last component. */
static errcode_t parent_of(ext2_filsys fs, const char *path, ext2_ino_t *dir,
			   const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash + 1;
	if (slash == path) {
		*dir = EXT2_ROOT_INO;
		return 0;
	}
	char p[CC_IMAGE_PATH_MAX];
	snprintf(p, sizeof(p), "%.*s", (int)(slash - path), path);
	return ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, p, dir);
}

static errcode_t link_in(ext2_filsys fs, ext2_ino_t dir, const char *name,
			 ext2_ino_t ino, int type)
{
	errcode_t rc = ext2fs_link(fs, dir, name, ino, type);
	if (rc == EXT2_ET_DIR_NO_SPACE) {
		rc = ext2fs_expand_dir(fs, dir);
		if (!rc)
			rc = ext2fs_link(fs, dir, name, ino, type);
	}
	return rc;
}

/* Copies src into the new inode, checking it is still the size the
 * image counted. */
static int copy_in(ext2_filsys fs, ext2_ino_t ino,
		   const struct cc_image_entry *x, struct cc_err *err)
{
	int fd = open(x->src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return cc_err_set(err, "%s: %s is no longer a regular file",
				  x->origin, x->src);
	}
	ext2_file_t f;
	errcode_t rc = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f);
	if (rc) {
		close(fd);
		return fs_err(err, rc, "open", x->path);
	}
	static char buf[1 << 16];
	int out = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			out = cc_err_errno(err, "%s: %s", x->origin, x->src);
			break;
		}
		if (n == 0)
			break;
		unsigned done;
		rc = ext2fs_file_write(f, buf, (unsigned)n, &done);
		if (rc || done != (unsigned)n) {
			out = fs_err(err, rc ? rc : EXT2_ET_SHORT_WRITE,
				     "write", x->path);
			break;
		}
	}
	close(fd);
	rc = ext2fs_file_close(f);
	if (!out && rc)
		out = fs_err(err, rc, "close", x->path);
	return out;
}

static int add_file(ext2_filsys fs, ext2_ino_t dir, const char *name,
		    const struct cc_image_entry *x, struct cc_err *err)
{
	ext2_ino_t ino;
	errcode_t rc = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, 0, &ino);
	if (!rc)
		rc = link_in(fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (rc)
		return fs_err(err, rc, "add", x->path);
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	struct ext2_inode inode;
	memset(&inode, 0, sizeof(inode));
	inode.i_mode = (__u16)(LINUX_S_IFREG | (x->mode & 07777));
	inode.i_links_count = 1;
	rc = ext2fs_write_new_inode(fs, ino, &inode);
	if (rc)
		return fs_err(err, rc, "inode of", x->path);
	return copy_in(fs, ino, x, err);
}

/* Sets the inode's mode bits and times (libext2fs stamps fs->now, but
 * the directory's permissions come from the entry). */
static errcode_t fix_inode(ext2_filsys fs, ext2_ino_t ino, unsigned mode)
{
	struct ext2_inode inode;
	errcode_t rc = ext2fs_read_inode(fs, ino, &inode);
	if (rc)
		return rc;
	inode.i_mode = (__u16)((inode.i_mode & LINUX_S_IFMT) | (mode & 07777));
	inode.i_atime = inode.i_ctime = inode.i_mtime = 0;
	inode.i_uid = inode.i_gid = 0;
	return ext2fs_write_inode(fs, ino, &inode);
}

static int add_entry(ext2_filsys fs, const struct cc_image_entry *x,
		     struct cc_err *err)
{
	ext2_ino_t dir, ino;
	const char *name;
	errcode_t rc = parent_of(fs, x->path, &dir, &name);
	if (rc)
		return fs_err(err, rc, "parent of", x->path);
	if (x->kind == CC_IMAGE_FILE)
		return add_file(fs, dir, name, x, err);
	if (x->kind == CC_IMAGE_SYMLINK)
		rc = ext2fs_symlink(fs, dir, 0, name, x->target);
	else
		rc = ext2fs_mkdir(fs, dir, 0, name);
	if (rc == EXT2_ET_DIR_NO_SPACE && !(rc = ext2fs_expand_dir(fs, dir)))
		rc = x->kind == CC_IMAGE_SYMLINK
			     ? ext2fs_symlink(fs, dir, 0, name, x->target)
			     : ext2fs_mkdir(fs, dir, 0, name);
	if (!rc)
		rc = ext2fs_namei(fs, EXT2_ROOT_INO, dir, name, &ino);
	if (!rc)
		rc = fix_inode(fs, ino,
			       x->kind == CC_IMAGE_SYMLINK ? 0777 : x->mode);
	return rc ? fs_err(err, rc, "add", x->path) : 0;
}

/* Room for the files (each rounded up to blocks, plus an indirect block
 * per 1024), the directories and the metadata, with slack. */
static uint64_t blocks_for(const struct cc_image *img)
{
	uint64_t b = 0;
	for (size_t i = 0; i < img->n; i++) {
		const struct cc_image_entry *x = &img->v[i];
		struct stat st;
		uint64_t n = x->kind == CC_IMAGE_FILE && !stat(x->src, &st)
				     ? ((uint64_t)st.st_size + FS_BLOCK - 1) /
					       FS_BLOCK
				     : 1;
		b += n + n / 1024 + 2;
	}
	return b + b / 8 + 1024;
}

/* A file system of `blocks` with room for `inodes`, holding img's
 * entries; with a journal (a blank data disk) or without (an image,
 * never written). */
static int make_fs(const char *tmp, const struct cc_image *img, uint64_t blocks,
		   uint64_t inodes, bool journal, struct cc_err *err)
{
	struct ext2_super_block param;
	memset(&param, 0, sizeof(param));
	ext2fs_blocks_count_set(&param, blocks);
	param.s_log_block_size = 2; /* 4 KiB */
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_inodes_count = (__u32)(inodes + 7) & ~7u;
	param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE;
	param.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
				    EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
	ext2_filsys fs;
	errcode_t rc = ext2fs_initialize(tmp, EXT2_FLAG_64BITS, &param,
					 unix_io_manager, &fs);
	if (rc)
		return fs_err(err, rc, "create", tmp);
	/* Not the host's clock: ext2fs_initialize stamped the creation
	 * and last-check times with it (the hardware tier caught two
	 * builds a second apart differing), and fs->now = 0 would mean
	 * "ask it" again. */
	fs->now = 1;
	fs->super->s_mkfs_time = fs->super->s_wtime = 0;
	fs->super->s_lastcheck = fs->super->s_mtime = 0;
	rc = ext2fs_allocate_tables(fs);
	if (!rc)
		rc = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, 0);
	if (!rc)
		rc = fix_inode(fs, EXT2_ROOT_INO, 0755);
	/* Inodes below the first usable one are the file system's own. */
	for (ext2_ino_t i = 1; !rc && i < EXT2_FIRST_INODE(fs->super); i++)
		if (i != EXT2_ROOT_INO)
			ext2fs_inode_alloc_stats2(fs, i, +1, 0);
	if (!rc && journal) {
		struct ext2fs_journal_params jp;
		rc = ext2fs_get_journal_params(&jp, fs);
		if (!rc)
			rc = ext2fs_add_journal_inode3(fs, &jp, ~0ull, 0);
		if (!rc)
			rc = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
	}
	int out = rc ? fs_err(err, rc, "lay out", tmp) : 0;
	for (size_t i = 0; !out && img && i < img->n; i++)
		out = add_entry(fs, &img->v[i], err);
	rc = ext2fs_close_free(&fs);
	if (!out && rc)
		out = fs_err(err, rc, "write", tmp);
	return out;
}

/* XXH3-128 of the file, as 32 hex digits (the store names files by
 * it, like the archive form's). */
static int hash_file(const char *path, char hash[33], struct cc_err *err)
{
	const void *p;
	uint64_t n;
	if (cc_file_map(path, "image", &p, &n, err))
		return -1;
	XXH128_hash_t h = XXH3_128bits(p, (size_t)n);
	cc_file_unmap(p, n);
	snprintf(hash, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	return 0;
}

/* Writes the file system to out: a sparse file of its final size
 * (unwritten blocks, inode tables included, read back as zeros), made
 * by make_fs, fsync'd, hashed, renamed. */
static int write_fs(const struct cc_image *img, uint64_t blocks,
		    uint64_t inodes, bool journal, const char *out,
		    char hash[33], struct cc_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >=
	    (int)sizeof(tmp))
		return cc_err_set(err, "image: path too long: %s", out);
	uint64_t bytes = blocks * FS_BLOCK;
	static bool messages; /* libext2fs's error texts, once */
	if (!messages) {
		initialize_ext2_error_table();
		messages = true;
	}
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return cc_err_errno(err, "image: %s", tmp);
	}
	close(fd);
	fd = -1;
	int rc = make_fs(tmp, img, blocks, inodes, journal, err);
	if (!rc && ((fd = open(tmp, O_RDWR | O_CLOEXEC)) < 0 || fsync(fd) < 0))
		rc = cc_err_errno(err, "image: %s", tmp);
	if (fd >= 0)
		close(fd);
	if (!rc && hash)
		rc = hash_file(tmp, hash, err);
	if (!rc && rename(tmp, out) < 0)
		rc = cc_err_errno(err, "image: rename to %s", out);
	if (rc)
		unlink(tmp);
	return rc;
}

int cc_image_write_fs(struct cc_image *img, const char *out, char hash[33],
		      struct cc_err *err)
{
	if (cc_image_layout(img, err))
		return -1;
	uint64_t blocks = blocks_for(img);
	if (blocks * FS_BLOCK > CC_IMAGE_FS_MAX)
		return cc_err_set(err,
				  "image: %.1f MiB is over the image disk's "
				  "%llu MiB",
				  (double)(blocks * FS_BLOCK) / (1 << 20),
				  (unsigned long long)(CC_IMAGE_FS_MAX >> 20));
	return write_fs(img, blocks, img->n + 64, false, out, hash, err);
}

int cc_image_write_blank_fs(uint64_t bytes, const char *out, struct cc_err *err)
{
	if (bytes < CC_BLANK_FS_MIN || bytes > CC_BLANK_FS_MAX ||
	    bytes % FS_BLOCK)
		return cc_err_set(err,
				  "blank data disk: %llu bytes, not a multiple "
				  "of 4 KiB from %llu MiB to %llu GiB",
				  (unsigned long long)bytes,
				  (unsigned long long)(CC_BLANK_FS_MIN >> 20),
				  (unsigned long long)(CC_BLANK_FS_MAX >> 30));
	/* One inode per 16 KiB, like mke2fs's default. */
	return write_fs(NULL, bytes / FS_BLOCK, bytes / 16384, true, out, NULL,
			err);
}

int cc_image_blank_in_store(uint64_t bytes, const char *store, char *out,
			    size_t cap, struct cc_err *err)
{
	if (snprintf(out, cap, "%s/blank-ext4-%lluM.img", store,
		     (unsigned long long)(bytes >> 20)) >= (int)cap)
		return cc_err_set(err, "image store: path too long");
	if (access(out, R_OK) == 0)
		return 0; /* made before: the same bytes */
	return cc_image_write_blank_fs(bytes, out, err);
}
