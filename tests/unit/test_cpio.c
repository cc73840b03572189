/* The newc cpio writer: exact headers, 4-byte alignment, trailer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../guest/initramfs/cpio.h"

/* Reads the 8-hex-digit field `i` of the header at p. */
static unsigned long field(const uint8_t *p, int i)
{
	char f[9];
	memcpy(f, p + 6 + 8 * i, 8);
	f[8] = 0;
	return strtoul(f, NULL, 16);
}

Test(cpio, one_file_layout)
{
	struct cc_cpio c;
	cc_cpio_init(&c);
	cr_assert_eq(cc_cpio_file(&c, "init", 0755, "hello", 5), 0);
	const uint8_t *p = c.buf;
	cr_assert_eq(memcmp(p, "070701", 6), 0);
	cr_assert_eq(field(p, 0), 1, "inode");
	cr_assert_eq(field(p, 1), 0100755, "mode");
	cr_assert_eq(field(p, 5), 0, "mtime is zero: reproducible");
	cr_assert_eq(field(p, 6), 5, "file size");
	cr_assert_eq(field(p, 11), 5, "name size includes the NUL");
	cr_assert_str_eq((const char *)p + 110, "init");
	/* 110 + 5 = 115 -> padded to 116, then 5 data bytes -> 124. */
	cr_assert_eq(memcmp(p + 116, "hello", 5), 0);
	cr_assert_eq(c.len, 124);
	cc_cpio_free(&c);
}

Test(cpio, devices_dirs_and_trailer)
{
	struct cc_cpio c;
	cc_cpio_init(&c);
	cr_assert_eq(cc_cpio_dir(&c, "dev"), 0);
	cr_assert_eq(cc_cpio_chardev(&c, "dev/console", 0600, 5, 1), 0);
	cr_assert_eq(cc_cpio_finish(&c), 0);
	const uint8_t *p = c.buf;
	cr_assert_eq(field(p, 1), 040755);
	cr_assert_eq(field(p, 4), 2, "directories have two links");
	p += 116; /* 110 + "dev\0" = 114 -> 116 */
	cr_assert_eq(field(p, 1), 020600);
	cr_assert_eq(field(p, 9), 5, "rdev major");
	cr_assert_eq(field(p, 10), 1, "rdev minor");
	p += 124; /* 110 + 12 = 122 -> 124 */
	cr_assert_str_eq((const char *)p + 110, "TRAILER!!!");
	cr_assert_eq(c.len % 4, 0);
	cc_cpio_free(&c);
}

Test(cpio, system_cpio_reads_it)
{
	struct cc_cpio c;
	cc_cpio_init(&c);
	cc_cpio_dir(&c, "bin");
	cc_cpio_file(&c, "bin/tool", 0755, "#!/bin/sh\n", 10);
	cc_cpio_file(&c, "odd", 0644, "abc", 3);
	cr_assert_eq(cc_cpio_finish(&c), 0);
	char path[] = "/tmp/cc-cpio-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, c.buf, c.len), (ssize_t)c.len);
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < %s", path);
	FILE *f = popen(cmd, "r");
	char out[256] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	cr_assert_eq(pclose(f), 0);
	unlink(path);
	cr_assert_str_eq(out, "bin\nbin/tool\nodd\n");
	cc_cpio_free(&c);
}

Test(cpio, rejects_empty_names)
{
	struct cc_cpio c;
	cc_cpio_init(&c);
	cr_assert_eq(cc_cpio_file(&c, "", 0644, "x", 1), -1);
	cr_assert_eq(cc_cpio_finish(&c), -1, "a failed archive stays failed");
	cc_cpio_free(&c);
}
