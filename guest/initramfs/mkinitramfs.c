/*
 * cc-mkinitramfs: packs the PID-1 init and static programs into a newc
 * cpio archive, gzip'd unless --no-gzip (the default guest's is not: on
 * PVM the kernel's gunzip is emulated), that the kernel unpacks as its
 * root file system.
 *
 *   cc-mkinitramfs -o OUT --init PATH [--bin NAME=PATH]...
 *                  [--file lib/NAME=PATH | usr/lib/NAME=PATH]... [--no-gzip]
 *
 * The archive holds /init, /bin/NAME for each --bin, the --file shared
 * objects (the musl loader, libvoidstar.so), /dev/console (the
 * kernel opens it for init before devtmpfs is mounted) and the empty
 * mount points /dev /proc /sys /tmp.  Written to a temporary name and
 * renamed, so a half-written archive never has the final name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cpio.h"

#define MAX_FILE (256u << 20)

static const char usage[] =
	"usage: cc-mkinitramfs -o OUT --init PATH [--bin NAME=PATH]... "
	"[--file lib/NAME=PATH]... [--no-gzip]\n";

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "cc-mkinitramfs: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		uint8_t *p = cap < MAX_FILE ? realloc(buf, cap * 2) : NULL;
		if (!p) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = p;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static int add_file(struct cc_cpio *c, const char *dest, const char *src)
{
	size_t len;
	uint8_t *data = slurp(src, &len);
	if (!data)
		return die("cannot read %s", src);
	int rc = cc_cpio_file(c, dest, 0755, data, len);
	free(data);
	return rc ? die("cannot add %s", dest) : 0;
}

static int gzip_to(FILE *f, const uint8_t *data, size_t len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: gzip wrapper, mtime 0 (reproducible). */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -1;
	uint8_t out[1 << 16];
	z.next_in = (uint8_t *)data;
	z.avail_in = (uInt)len;
	int rc;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		rc = deflate(&z, Z_FINISH);
		size_t n = sizeof(out) - z.avail_out;
		if (rc == Z_STREAM_ERROR || fwrite(out, 1, n, f) != n) {
			deflateEnd(&z);
			return -1;
		}
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

static int write_out(const char *out, const struct cc_cpio *c, int gzip)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >=
	    (int)sizeof(tmp))
		return die("output path too long: %s", out);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return die("cannot create %s", tmp);
	int bad = gzip ? gzip_to(f, c->buf, c->len)
		       : fwrite(c->buf, 1, c->len, f) != c->len;
	if (fclose(f) != 0 || bad || rename(tmp, out) != 0) {
		unlink(tmp);
		return die("cannot write %s", out);
	}
	return 0;
}

/* --file DEST=PATH: DEST relative, inside lib/ or usr/lib/, no "..". */
static int add_other(struct cc_cpio *c, const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;
	if (!eq || !eq[1] ||
	    (strncmp(spec, "lib/", 4) && strncmp(spec, "usr/lib/", 8)) ||
	    memmem(spec, n, "..", 2) || n >= 512)
		return die("--file wants lib/NAME=PATH or usr/lib/NAME=PATH, "
			   "got '%s'",
			   spec);
	char dest[512];
	snprintf(dest, sizeof(dest), "%.*s", (int)n, spec);
	return add_file(c, dest, eq + 1);
}

static int build(struct cc_cpio *c, const char *init, char **bins, int nbins,
		 char **files, int nfiles)
{
	static const char *const dirs[] = {"dev", "proc", "sys", "tmp",
					   "bin", "lib",  "usr", "usr/lib"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		cc_cpio_dir(c, dirs[i]);
	cc_cpio_chardev(c, "dev/console", 0600, 5, 1);
	if (add_file(c, "init", init))
		return 1;
	for (int i = 0; i < nbins; i++) {
		char *eq = strchr(bins[i], '=');
		if (!eq || eq == bins[i] || !eq[1] ||
		    memchr(bins[i], '/', eq - bins[i]))
			return die("--bin wants NAME=PATH, got '%s'", bins[i]);
		char dest[512];
		snprintf(dest, sizeof(dest), "bin/%.*s", (int)(eq - bins[i]),
			 bins[i]);
		if (add_file(c, dest, eq + 1))
			return 1;
	}
	for (int i = 0; i < nfiles; i++)
		if (add_other(c, files[i]))
			return 1;
	return cc_cpio_finish(c) ? die("%s", "archive too large") : 0;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *init = NULL;
	char **bins = calloc((size_t)argc, sizeof(char *));
	char **files = calloc((size_t)argc, sizeof(char *));
	int nbins = 0, nfiles = 0, gzip = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(a, "--init") && i + 1 < argc)
			init = argv[++i];
		else if (!strcmp(a, "--bin") && i + 1 < argc)
			bins[nbins++] = argv[++i];
		else if (!strcmp(a, "--file") && i + 1 < argc)
			files[nfiles++] = argv[++i];
		else if (!strcmp(a, "--no-gzip"))
			gzip = 0;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!out || !init) {
		fputs(usage, stderr);
		return 2;
	}
	struct cc_cpio c;
	cc_cpio_init(&c);
	int rc = build(&c, init, bins, nbins, files, nfiles);
	if (!rc)
		rc = write_out(out, &c, gzip);
	cc_cpio_free(&c);
	free(bins);
	free(files);
	return rc;
}
