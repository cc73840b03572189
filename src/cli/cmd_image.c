/*
 * `chaoscontrol image build SPEC.json`: packs a guest image (src/run/
 * image.h, docs/IMAGES.md) over the default initramfs and stores it
 * under its content hash, or at -o PATH.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../run/image.h"
#include "../run/boot_cache.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol image build SPEC.json [options]\n"
	"\n"
	"Packs the programs (with their ELF interpreter and shared\n"
	"libraries, found like the dynamic loader would, without running\n"
	"them), files, directories and links SPEC.json lists into a newc\n"
	"archive laid over the default initramfs; boot it with\n"
	"`run --initrd PATH`.  The same inputs give the same bytes.\n"
	"\n"
	"  --disk             write an image disk instead: a read-only ext4\n"
	"                     file system of the image alone, which init\n"
	"                     lays over the root after the boot (so every\n"
	"                     image shares one cached boot); give it with\n"
	"                     `run --image PATH` (store name HASH.img)\n"
	"  -o, --output PATH  write the image there (default: the image\n"
	"                     store, ${XDG_CACHE_HOME:-~/.cache}/\n"
	"                     chaoscontrol/images/HASH.cpio)\n"
	"  --base CPIO        the archive to lay it over (default: the\n"
	"                     default guest's initramfs.cpio)\n"
	"  --no-base          the image's own archive only\n"
	"  -q, --quiet        print only the image's path\n"
	"\n"
	"The spec's format: docs/IMAGES.md.\n";

static int store_dir(char *dir, size_t cap)
{
	struct cc_err err;
	if (cc_cache_dir("images", dir, cap, &err) == 0)
		return 0;
	fprintf(stderr, "chaoscontrol: image store: %s\n", err.msg);
	return -1;
}

static int build(const char *spec, const char *out, const char *base,
		 bool quiet, bool disk)
{
	struct cc_image img;
	struct cc_err err;
	char path[4096], hash[33] = "", dir[4000];
	cc_image_init(&img, NULL);
	int rc;
	if (out) {
		snprintf(path, sizeof(path), "%s", out);
		rc = cc_image_load_spec(&img, spec, &err) ||
		     (disk ? cc_image_write_fs(&img, path, hash, &err)
			   : cc_image_write(&img, base, path, hash, &err));
	} else if (store_dir(dir, sizeof(dir))) {
		cc_image_free(&img);
		return CC_EXIT_SETUP;
	} else { /* into the store, under its hash */
		rc = disk ? cc_image_build_disk(&img, spec, dir, path,
						sizeof(path), &err)
			  : cc_image_build(&img, spec, base, dir, path,
					   sizeof(path), &err);
		const char *name = strrchr(path, '/');
		snprintf(hash, sizeof(hash), "%.32s", name ? name + 1 : "");
	}
	if (rc) {
		fprintf(stderr, "chaoscontrol: %s\n", err.msg);
		cc_image_free(&img);
		return CC_EXIT_SETUP;
	}
	if (!quiet)
		printf("image: %zu programs, %zu libraries, %zu entries, "
		       "%.1f MiB of files%s\nimage: xxh128 %s\n",
		       img.programs, img.libraries, img.n,
		       (double)img.bytes / (1 << 20),
		       disk   ? " (an image disk)"
		       : base ? " (over the base initramfs)"
			      : "",
		       hash);
	printf("%s%s\n", quiet ? "" : "image: ", path);
	cc_image_free(&img);
	return CC_EXIT_OK;
}

int cc_cmd_image(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "build")) {
		bool asked = argc >= 2 && (!strcmp(argv[1], "--help") ||
					   !strcmp(argv[1], "-h"));
		fputs(help, asked ? stdout : stderr);
		return asked ? CC_EXIT_OK : CC_EXIT_USAGE;
	}
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"base", required_argument, NULL, 'b'},
		{"no-base", no_argument, NULL, 'n'},
		{"disk", no_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *out = NULL, *base = NULL;
	bool no_base = false, quiet = false, disk = false;
	char dflt[4096];
	int c;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "o:qh", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'b':
			base = optarg;
			break;
		case 'n':
			no_base = true;
			break;
		case 'd':
			disk = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return CC_EXIT_OK;
		default:
			fputs(help, stderr);
			return CC_EXIT_USAGE;
		}
	}
	if (optind != argc - 2) { /* exactly one SPEC after "build" */
		fputs(help, stderr);
		return CC_EXIT_USAGE;
	}
	if (!base && !no_base) {
		snprintf(dflt, sizeof(dflt), "%s/initramfs.cpio",
			 cc_cli_guest_dir());
		base = dflt;
	}
	return build(argv[1 + optind], out, no_base || disk ? NULL : base,
		     quiet, disk);
}
