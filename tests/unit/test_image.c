/*
 * Guest images (src/run/image.c, elfdeps.c, image_spec.c) without a VM:
 * a dynamically linked Debian program packed with exactly the objects
 * its loader needs, read back with libarchive; the same inputs give the
 * same bytes; and each bad spec or input gives its own one-line error.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "run/image.h"

/* Each test in its own directory (Criterion runs them in parallel). */

static char out[1 << 16];
static char dir[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), CC_BUILD_DIR "/tests/image-unit/%s",
		 criterion_current_test->name);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"rm -rf %s && mkdir -p %s && printf "
				"'port 6379\\n' > %s/a.conf",
				dir, dir, dir),
		     0);
}

TestSuite(image, .init = setup);

/* A path in this test's directory. */
static const char *at(const char *name)
{
	static char p[4][600];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* Parses spec text with sources in this test's directory; the error text, or
 * "". */
static const char *spec_error(struct cc_image *img, const char *text)
{
	static struct cc_err err;
	cc_image_init(img, NULL);
	if (cc_image_parse_spec(img, text, strlen(text), dir, &err) == 0)
		err.msg[0] = 0;
	return err.msg;
}

static const struct cc_image_entry *entry(const struct cc_image *img,
					  const char *path)
{
	for (size_t i = 0; i < img->n; i++)
		if (!strcmp(img->v[i].path, path))
			return &img->v[i];
	return NULL;
}

Test(image, a_glibc_program_brings_its_loader_and_libc)
{
	struct cc_image img;
	cr_assert_str_eq(spec_error(&img, "{\"version\": 1, \"programs\": "
					  "[\"/usr/bin/true\"]}"),
			 "");
	cr_assert_eq(img.programs, 1);
	cr_assert_eq(img.libraries, 2, "the loader and libc, not %zu",
		     img.libraries);
	cr_assert(entry(&img, "/usr/bin/true"));
	const struct cc_image_entry *ld =
		entry(&img, "/lib64/ld-linux-x86-64.so.2");
	cr_assert(ld && ld->kind == CC_IMAGE_FILE);
	cr_assert(entry(&img, "/lib/x86_64-linux-gnu/libc.so.6"));
	/* libc names the loader too; it is not packed a second time. */
	cr_assert_null(
		entry(&img, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
	cc_image_free(&img);
}

/* Every entry of an archive: "path mode size [target|first bytes]". */
static void list(const char *path, char *o, size_t cap)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_cpio(a);
	cr_assert_eq(archive_read_open_filename(a, path, 4096), ARCHIVE_OK,
		     "%s", archive_error_string(a));
	struct archive_entry *ae;
	size_t n = 0;
	o[0] = 0;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		char data[16] = {0};
		archive_read_data(a, data, sizeof(data) - 1);
		const char *t = archive_entry_symlink(ae);
		n += (size_t)snprintf(o + n, cap - n, "%s %o %lld %s\n",
				      archive_entry_pathname(ae),
				      archive_entry_mode(ae),
				      (long long)archive_entry_size(ae),
				      t ? t : strtok(data, "\n"));
		cr_assert_eq(archive_entry_mtime(ae), 0);
		cr_assert_eq(archive_entry_uid(ae), 0);
	}
	archive_read_free(a);
}

static const char *const small =
	"{\"version\": 1,"
	" \"files\": [{\"src\": \"a.conf\", \"dst\": \"/etc/redis//a.conf/\","
	"             \"mode\": \"0600\"}],"
	" \"dirs\": [\"/data\", {\"path\": \"/run/r\", \"mode\": \"0700\"}],"
	" \"symlinks\": [{\"path\": \"/etc/b.conf\", \"target\": "
	"\"redis/a.conf\"}]}";

Test(image, archive_reads_back_sorted_with_parents)
{
	struct cc_image img;
	struct cc_err err;
	char h1[33], h2[33];
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write(&img, NULL, at("one.cpio"), h1, &err), 0,
		     "%s", err.msg);
	cc_image_free(&img);
	list(at("one.cpio"), out, sizeof(out));
	cr_assert_str_eq(out, "data 40755 0 (null)\n"
			      "etc 40755 0 (null)\n"
			      "etc/b.conf 120777 12 redis/a.conf\n"
			      "etc/redis 40755 0 (null)\n"
			      "etc/redis/a.conf 100600 10 port 6379\n"
			      "run 40755 0 (null)\n"
			      "run/r 40700 0 (null)\n");
	/* Again, from a fresh parse: the same bytes. */
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write(&img, NULL, at("two.cpio"), h2, &err), 0,
		     "%s", err.msg);
	cc_image_free(&img);
	cr_assert_str_eq(h1, h2);
	cr_assert_eq(cc_test_sh(out, sizeof(out), "cmp %s %s", at("one.cpio"),
				at("two.cpio")),
		     0, "%s", out);
}

Test(image, laid_over_a_base_archive)
{
	struct cc_image img;
	struct cc_err err;
	char h[33];
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write(&img, at("a.conf"), at("x.cpio"), h, &err),
		     -1);
	cr_assert(strstr(err.msg, "is not a newc cpio archive"), "%s", err.msg);
	cr_assert_eq(access(at("x.cpio"), F_OK), -1, "nothing left behind");
	cc_image_free(&img);
	/* The base: a one-entry archive of our own. */
	cr_assert_str_eq(spec_error(&img, "{\"version\": 1, \"dirs\": "
					  "[\"/base\"]}"),
			 "");
	cr_assert_eq(cc_image_write(&img, NULL, at("base.cpio"), h, &err), 0,
		     "%s", err.msg);
	cc_image_free(&img);
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(
		cc_image_write(&img, at("base.cpio"), at("x.cpio"), h, &err), 0,
		"%s", err.msg);
	cc_image_free(&img);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"head -c $(stat -c %%s %s) %s | cmp - %s",
				at("base.cpio"), at("x.cpio"), at("base.cpio")),
		     0, "the base comes first, byte for byte: %s", out);
	/* The kernel reads both archives; so does cpio, one after the other. */
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"(cpio -it; cpio -it) < %s 2>/dev/null",
				at("x.cpio")),
		     0);
	cr_assert(strstr(out, "base\n") && strstr(out, "etc/redis/a.conf\n"),
		  "%s", out);
}

/* One bad spec, one error naming the field. */
static void bad(const char *spec, const char *want_fmt)
{
	struct cc_image img;
	char want[1024];
	snprintf(want, sizeof(want), want_fmt, dir); /* %1$s: the dir */
	const char *e = spec_error(&img, spec);
	struct cc_err werr;
	/* Some faults only show in the whole (a path given twice): the
	 * layout, at write time, as in `image build`. */
	if (!*e && cc_image_write(&img, NULL, at("bad.cpio"), NULL, &werr))
		e = werr.msg;
	cr_assert(strstr(e, want), "spec %s\n  gave \"%s\"\n  want \"%s\"",
		  spec, e, want);
	cc_image_free(&img);
}

Test(image, each_bad_spec_gets_its_error)
{
	bad("{", "image spec: line 1:");
	bad("[]", "must be a JSON object");
	bad("{\"programs\": []}", "version: must be 1");
	bad("{\"version\": 2}", "version: must be 1");
	bad("{\"version\": 1, \"progams\": []}",
	    "top level: unknown field \"progams\"");
	bad("{\"version\": 1, \"files\": {}}", "files: must be a list");
	bad("{\"version\": 1, \"files\": [\"a.conf\"]}", "files[0]: an object");
	bad("{\"version\": 1, \"files\": [{\"dst\": \"/a\"}]}",
	    "files[0].src: missing");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/a\", \"owner\": 0}]}",
	    "files[0]: unknown field \"owner\"");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/a\", \"mode\": \"rw\"}]}",
	    "files[0].mode: an octal string");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"etc/a\"}]}",
	    "files[0]: \"etc/a\" is not an absolute path");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/etc/../../a\"}]}",
	    "has a \".\" or \"..\" part");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/\"}]}",
	    "is the image's root");
	bad("{\"version\": 1, \"files\": [{\"src\": \"nope\", \"dst\": "
	    "\"/a\"}]}",
	    "files[0]: %s/nope: No such file");
	bad("{\"version\": 1, \"files\": [{\"src\": \"/tmp\", \"dst\": "
	    "\"/a\"}]}",
	    "files[0]: /tmp is not a regular file");
	bad("{\"version\": 1, \"programs\": [\"a.conf\"]}",
	    "programs[0]: %s/a.conf is not an ELF file");
	bad("{\"version\": 1, \"programs\": [{}]}", "programs[0].src: missing");
	bad("{\"version\": 1, \"dirs\": [7]}", "dirs[0]: a path or");
	bad("{\"version\": 1, \"symlinks\": [{\"path\": \"/a\"}]}",
	    "symlinks[0].target: missing");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/a\"}], \"symlinks\": [{\"path\": \"/a\", \"target\": "
	    "\"b\"}]}",
	    "files[0] and symlinks[0] both give /a, differently");
	bad("{\"version\": 1, \"files\": [{\"src\": \"a.conf\", \"dst\": "
	    "\"/a\"}], \"dirs\": [\"/a/b\"]}",
	    "dirs[0] puts /a/b under /a, which files[0] makes a file");
}

Test(image, limits_are_enforced)
{
	struct cc_image img;
	struct cc_err err;
	struct cc_image_limits lim = {
		.file_max = 5, .total_max = 100, .entries_max = 3};
	cc_image_init(&img, &lim);
	cr_assert_eq(cc_image_add_file(&img, at("a.conf"), "/a", -1, "f", &err),
		     -1);
	cr_assert(strstr(err.msg, "is 10 bytes, over the limit of 5 per file"),
		  "%s", err.msg);
	lim.file_max = 10;
	lim.total_max = 15;
	cc_image_free(&img);
	cc_image_init(&img, &lim);
	cr_assert_eq(cc_image_add_file(&img, at("a.conf"), "/a", -1, "f", &err),
		     0, "%s", err.msg);
	cr_assert_eq(cc_image_add_file(&img, at("a.conf"), "/b", -1, "g", &err),
		     -1);
	cr_assert(strstr(err.msg, "g: the image would pass its limit of 15"),
		  "%s", err.msg);
	cr_assert_eq(cc_image_add_dir(&img, "/c", 0755, "d", &err), 0);
	cr_assert_eq(cc_image_add_dir(&img, "/e", 0755, "d", &err), 0);
	cr_assert_eq(cc_image_add_dir(&img, "/f", 0755, "d", &err), -1);
	cr_assert(strstr(err.msg, "more than 3 entries"), "%s", err.msg);
	cc_image_free(&img);
}

/* A program whose library is gone: the error names both. */
Test(image, a_missing_library_is_named)
{
	cr_assert_eq(
		cc_test_sh(out, sizeof(out),
			   "cd %s && echo 'int nope(void){return 0;}' |"
			   " gcc -shared -fPIC -x c - -o libnope.so && echo "
			   "'int nope(void); int main(void){return nope();}' |"
			   " gcc -x c - -o needy -L. -lnope && rm libnope.so"
			   " 2>&1",
			   dir),
		0, "%s", out);
	bad("{\"version\": 1, \"programs\": [\"needy\"]}",
	    "programs[0]: %s/needy needs libnope.so, found in none");
}

/* The image disk (image_fs.c): a file system e2fsck finds clean, with
 * the entries, modes, owner and contents of the archive form, and the
 * same bytes from the same inputs. */
Test(image, image_disk_is_a_clean_reproducible_ext4_file_system)
{
	struct cc_image img;
	struct cc_err err;
	char h1[33], h2[33];
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write_fs(&img, at("one.img"), h1, &err), 0, "%s",
		     err.msg);
	cc_image_free(&img);
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write_fs(&img, at("two.img"), h2, &err), 0, "%s",
		     err.msg);
	cc_image_free(&img);
	cr_assert_str_eq(h1, h2);
	cr_assert_eq(cc_test_sh(out, sizeof(out), "cmp %s %s && e2fsck -fn %s",
				at("one.img"), at("two.img"), at("one.img")),
		     0, "%s", out);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"debugfs -R 'cat /etc/redis/a.conf' %s "
				"2>/dev/null; debugfs -R 'stat /etc/b.conf' %s "
				"2>/dev/null | grep -o 'Fast link dest: .*'; "
				"debugfs -R 'ls -l /run' %s 2>/dev/null | "
				"grep ' r$'; debugfs -R 'ls -l /etc/redis' %s "
				"2>/dev/null | grep a.conf",
				at("one.img"), at("one.img"), at("one.img"),
				at("one.img")),
		     0, "%s", out);
	cr_assert(strstr(out, "port 6379\n"), "%s", out);
	cr_assert(strstr(out, "Fast link dest: \"redis/a.conf\""), "%s", out);
	cr_assert(strstr(out, "40700 (2)      0      0"), "%s", out);
	cr_assert(strstr(out, "100600 (1)      0      0      10"), "%s", out);
	/* No host time anywhere: two builds a second apart once differed
	 * in the superblock's last-check time. */
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"dumpe2fs -h %s 2>/dev/null | grep -E "
				"'(created|time|checked):' | grep -v -e ' "
				"1970$' -e 'n/a$'",
				at("one.img")),
		     1, "host time in the superblock: %s", out);
}

/* Resolving a node's image: a spec becomes an image disk in the store;
 * an archive and a disk are taken as they are; anything else is named. */
Test(image, a_node_image_is_a_spec_a_disk_or_an_archive)
{
	struct cc_err err;
	char got[4096];
	bool as_disk = false;
	cr_assert_eq(
		cc_test_sh(out, sizeof(out),
			   "printf '%%s' '{\"version\": 1, \"files\": "
			   "[{\"src\": \"a.conf\", \"dst\": \"/a.conf\"}]}'"
			   " > %s && printf 'junk' > %s",
			   at("s.json"), at("junk")),
		0);
	cr_assert_eq(cc_image_resolve(at("s.json"), dir, got, sizeof(got),
				      &as_disk, &err),
		     0, "%s", err.msg);
	cr_assert(as_disk);
	cr_assert_eq(strlen(got), strlen(dir) + 1 + 32 + 4, "%s", got);
	char disk[4096];
	snprintf(disk, sizeof(disk), "%s", got);
	cr_assert_eq(
		cc_image_resolve(disk, dir, got, sizeof(got), &as_disk, &err),
		0, "%s", err.msg);
	cr_assert(as_disk);
	cr_assert_str_eq(got, disk);
	struct cc_image img;
	cr_assert_str_eq(spec_error(&img, small), "");
	cr_assert_eq(cc_image_write(&img, NULL, at("x.cpio"), NULL, &err), 0);
	cc_image_free(&img);
	cr_assert_eq(cc_image_resolve(at("x.cpio"), dir, got, sizeof(got),
				      &as_disk, &err),
		     0, "%s", err.msg);
	cr_assert(!as_disk);
	cr_assert_neq(cc_image_resolve(at("junk"), dir, got, sizeof(got),
				       &as_disk, &err),
		      0);
	cr_assert(strstr(err.msg, "neither an image spec"), "%s", err.msg);
}

/* A blank data disk: ext4 with a journal and lost+found, clean for
 * e2fsck, the same bytes twice; sizes outside the limits are refused. */
Test(image, a_blank_data_disk_is_clean_journaled_and_reproducible)
{
	struct cc_err err;
	cr_assert_eq(cc_image_write_blank_fs(16 << 20, at("a.img"), &err), 0,
		     "%s", err.msg);
	cr_assert_eq(cc_image_write_blank_fs(16 << 20, at("b.img"), &err), 0,
		     "%s", err.msg);
	cr_assert_eq(
		cc_test_sh(out, sizeof(out),
			   "cmp %s %s && e2fsck -fn %s 2>&1 && "
			   "dumpe2fs -h %s 2>/dev/null | grep -i "
			   "'features' && debugfs -R 'ls /' %s 2>/dev/null",
			   at("a.img"), at("b.img"), at("a.img"), at("a.img"),
			   at("a.img")),
		0, "%s", out);
	cr_assert(strstr(out, "has_journal"), "%s", out);
	cr_assert(strstr(out, "lost+found"), "%s", out);
	cr_assert_neq(cc_image_write_blank_fs(4096, at("c.img"), &err), 0);
	cr_assert(strstr(err.msg, "blank data disk"), "%s", err.msg);
	cr_assert_neq(access(at("c.img"), F_OK), 0, "nothing left behind");
}
