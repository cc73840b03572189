/*
 * diskcheck: exercises the virtio-blk disk (/dev/vda) from inside a guest.
 *
 *   diskcheck fs       mount the ext4 image, print /mnt/seed.txt, write
 *                      /mnt/guest.txt and a 96 KiB file, fsync, read both
 *                      back, unmount
 *   diskcheck fs-write mount, write and fsync one file: the error, if any
 *   diskcheck read     one O_DIRECT 4 KiB read near the end of the disk
 *   diskcheck write    one O_DIRECT 4 KiB write there, then fsync
 *   diskcheck torn     write 64 KiB of 0xAB (O_DIRECT), read it back and
 *                      count the 512-byte sectors that landed
 *   diskcheck corrupt  write 4 KiB of 0x5A, read back, count bad bytes
 *   diskcheck setup-read  one read, then the SDK's setup_complete, then
 *                      another read (faults gated on set-up hit the second)
 *   diskcheck raw N    N rounds of O_DIRECT 4 KiB write + read-back +
 *                      compare at successive offsets (steady traffic)
 *
 * Each prints one "diskcheck: ..." line per step with the errno name, so
 * a test can check what the kernel reported.  Exit 0 unless a step that
 * must work did not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaoscontrol.h"

#define DEV "/dev/vda"
#define MNT "/mnt"

static const char *ename(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case EIO:
		return "EIO";
	case ENOSPC:
		return "ENOSPC";
	case EROFS:
		return "EROFS";
	default:
		return strerror(e);
	}
}

static int open_raw(int flags, off_t *at)
{
	int fd = open(DEV, flags | O_DIRECT);
	off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (size < 65536) {
		printf("diskcheck: cannot open %s: %s\n", DEV, ename(errno));
		exit(1);
	}
	*at = (off_t)(size - 65536); /* past the filesystem's busy start */
	return fd;
}

static void *block(size_t len, int fill)
{
	void *p = aligned_alloc(4096, len);
	if (!p)
		exit(1);
	memset(p, fill, len);
	return p;
}

static int raw_read(void)
{
	off_t at;
	int fd = open_raw(O_RDONLY, &at);
	char *b = block(4096, 0);
	ssize_t n = pread(fd, b, 4096, at);
	printf("diskcheck: read %s\n", ename(n == 4096 ? 0 : errno));
	return 0;
}

static int setup_read(void)
{
	off_t at;
	int fd = open_raw(O_RDONLY, &at);
	char *b = block(4096, 0);
	ssize_t n = pread(fd, b, 4096, at);
	printf("diskcheck: before setup read %s\n",
	       ename(n == 4096 ? 0 : errno));
	cc_setup_complete("{\"program\":\"diskcheck\"}");
	n = pread(fd, b, 4096, at + 4096);
	printf("diskcheck: after setup read %s\n",
	       ename(n == 4096 ? 0 : errno));
	return 0;
}

static int raw_write(void)
{
	off_t at;
	int fd = open_raw(O_RDWR, &at);
	char *b = block(4096, 0x11);
	ssize_t n = pwrite(fd, b, 4096, at);
	printf("diskcheck: write %s\n", ename(n == 4096 ? 0 : errno));
	printf("diskcheck: fsync %s\n", ename(fsync(fd) ? errno : 0));
	return 0;
}

static int torn(void)
{
	off_t at;
	int fd = open_raw(O_RDWR, &at);
	unsigned char *w = block(65536, 0xAB), *r = block(65536, 0);
	ssize_t n = pwrite(fd, w, 65536, at);
	printf("diskcheck: write %s\n", ename(n == 65536 ? 0 : errno));
	if (pread(fd, r, 65536, at) != 65536) {
		printf("diskcheck: read back %s\n", ename(errno));
		return 1;
	}
	int landed = 0;
	for (int s = 0; s < 128; s++)
		landed += !memcmp(r + 512 * s, w + 512 * s, 512);
	printf("diskcheck: torn %d of 128 sectors landed\n", landed);
	return 0;
}

static int corrupt(void)
{
	off_t at;
	int fd = open_raw(O_RDWR, &at);
	unsigned char *w = block(4096, 0x5A), *r = block(4096, 0);
	if (pwrite(fd, w, 4096, at) != 4096 || pread(fd, r, 4096, at) != 4096) {
		printf("diskcheck: io %s\n", ename(errno));
		return 1;
	}
	int bad = 0;
	for (int i = 0; i < 4096; i++)
		bad += r[i] != w[i];
	printf("diskcheck: corrupt %d of 4096 bytes differ\n", bad);
	return 0;
}

static int raw_rounds(int n)
{
	off_t at;
	int fd = open_raw(O_RDWR, &at);
	unsigned char *w = block(4096, 0), *r = block(4096, 0);
	int ok = 0;
	for (int i = 0; i < n; i++) {
		memset(w, i & 0xff, 4096);
		off_t o = at + (off_t)(i % 16) * 4096;
		ok += pwrite(fd, w, 4096, o) == 4096 &&
		      pread(fd, r, 4096, o) == 4096 && !memcmp(r, w, 4096);
	}
	printf("diskcheck: raw %d/%d rounds ok\n", ok, n);
	return ok == n ? 0 : 1;
}

static int mount_fs(void)
{
	mkdir(MNT, 0755);
	if (mount(DEV, MNT, "ext4", 0, NULL) < 0) {
		printf("diskcheck: mount %s\n", ename(errno));
		return -1;
	}
	return 0;
}

/* Writes len bytes of `fill` to path and fsyncs; 0 or the errno. */
static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return errno;
	int e = write(fd, data, len) == (ssize_t)len ? 0 : errno;
	if (!e && fsync(fd) < 0)
		e = errno;
	close(fd);
	return e;
}

static int check_file(const char *path, const char *data, size_t len)
{
	char *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len + 1);
	int ok = n == (ssize_t)len && !memcmp(buf, data, len);
	free(buf);
	if (fd >= 0)
		close(fd);
	return ok;
}

static int fs(void)
{
	if (mount_fs())
		return 1;
	char seed[256] = {0};
	int fd = open(MNT "/seed.txt", O_RDONLY);
	if (fd < 0 || read(fd, seed, sizeof(seed) - 1) < 0) {
		printf("diskcheck: seed.txt %s\n", ename(errno));
		return 1;
	}
	close(fd);
	printf("diskcheck: seed.txt says: %s", seed);
	static const char msg[] = "written by the guest through virtio-blk\n";
	size_t big_len = 96 * 1024;
	char *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	int e1 = write_file(MNT "/guest.txt", msg, sizeof(msg) - 1);
	int e2 = write_file(MNT "/big.bin", big, big_len);
	printf("diskcheck: write %s %s\n", ename(e1), ename(e2));
	int ok = !e1 && !e2 &&
		 check_file(MNT "/guest.txt", msg, sizeof(msg) - 1) &&
		 check_file(MNT "/big.bin", big, big_len);
	sync();
	int u = umount(MNT) ? errno : 0;
	printf("diskcheck: read back %s, umount %s\n", ok ? "ok" : "BAD",
	       ename(u));
	return ok && !u ? 0 : 1;
}

static int fs_write(void)
{
	if (mount_fs())
		return 1;
	char data[8192];
	memset(data, 'x', sizeof(data));
	int e = write_file(MNT "/full.txt", data, sizeof(data));
	printf("diskcheck: fs-write %s\n", ename(e));
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "fs";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "fs"))
		return fs();
	if (!strcmp(m, "fs-write"))
		return fs_write();
	if (!strcmp(m, "read"))
		return raw_read();
	if (!strcmp(m, "setup-read"))
		return setup_read();
	if (!strcmp(m, "write"))
		return raw_write();
	if (!strcmp(m, "torn"))
		return torn();
	if (!strcmp(m, "corrupt"))
		return corrupt();
	if (!strcmp(m, "raw"))
		return raw_rounds(argc > 2 ? atoi(argv[2]) : 10);
	printf("diskcheck: unknown mode %s\n", m);
	return 2;
}
