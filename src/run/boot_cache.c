#include "boot_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "../vmm/snapfile.h"
#include "../base/file.h"

static void add(XXH3_state_t *x, const void *p, size_t n)
{
	uint64_t len = n; /* length-prefixed: no ambiguity between fields */
	XXH3_128bits_update(x, &len, sizeof(len));
	XXH3_128bits_update(x, p, n);
}

static int add_file(XXH3_state_t *x, const char *path, const char *what,
		    struct cc_err *err)
{
	if (!path) {
		add(x, "", 0);
		return 0;
	}
	uint8_t *d;
	size_t n;
	if (cc_read_file(path, what, &d, &n, err))
		return -1;
	add(x, d, n);
	free(d);
	return 0;
}

/* The disk image by content, streamed (it may be larger than RAM). */
static int add_disk(XXH3_state_t *x, const char *path, struct cc_err *err)
{
	if (!path) {
		add(x, "", 0);
		return 0;
	}
	const void *p;
	uint64_t len;
	if (cc_file_map(path, "disk image", &p, &len, err))
		return -1;
	XXH3_128bits_update(x, &len, sizeof(len));
	if (len)
		XXH3_128bits_update(x, p, len);
	cc_file_unmap(p, len);
	return 0;
}

static int make_dirs(char *dir, struct cc_err *err)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int rc = mkdir(dir, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return cc_err_errno(err, "mkdir %s", dir);
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return cc_err_errno(err, "mkdir %s", dir);
	return 0;
}

int cc_cache_dir(const char *sub, char *dir, size_t cap, struct cc_err *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n = xdg && *xdg ? snprintf(dir, cap, "%s/chaoscontrol/%s", xdg, sub)
			    : snprintf(dir, cap, "%s/.cache/chaoscontrol/%s",
				       home && *home ? home : "/tmp", sub);
	if (n < 0 || (size_t)n >= cap)
		return cc_err_set(err, "cache directory: path too long");
	return make_dirs(dir, err);
}

int cc_boot_cache_path(const struct cc_vm_config *cfg, int platform, char *path,
		       size_t len, struct cc_err *err)
{
	XXH3_state_t *x = XXH3_createState();
	if (!x)
		return cc_err_set(err, "boot cache: out of memory");
	XXH3_128bits_reset(x);
	uint32_t version = CC_SNAPFILE_VERSION;
	uint64_t nums[] = {
		cfg->mem_size ? cfg->mem_size : CC_DEFAULT_MEM,
		cfg->seed,
		cfg->vm_index,
		cfg->rtc_epoch_s,
		cfg->progress_ns,
		(uint64_t)cfg->cpuid_hide_avx,
		(uint64_t)cfg->cpuid_fixed_model,
		(uint64_t)platform,
		cfg->hc_transport, /* written into the hypercall page */
	};
	add(x, "chaoscontrol boot cache", 23);
	add(x, &version, sizeof(version));
	add(x, cc_vm_state_layout(), strlen(cc_vm_state_layout()));
	add(x, nums, sizeof(nums));
	add(x, cfg->cmdline ? cfg->cmdline : "",
	    cfg->cmdline ? strlen(cfg->cmdline) : 0);
	int rc = add_file(x, cfg->kernel_path, "kernel", err) ||
		 add_file(x, cfg->initrd_path, "initrd", err) ||
		 add_disk(x, cfg->disk_path, err);
	XXH128_hash_t h = XXH3_128bits_digest(x);
	XXH3_freeState(x);
	if (rc)
		return -1;
	char dir[4000];
	if (cc_cache_dir("boot", dir, sizeof(dir), err))
		return -1;
	if (snprintf(path, len, "%s/%016llx%016llx.snap", dir,
		     (unsigned long long)h.high64,
		     (unsigned long long)h.low64) >= (int)len)
		return cc_err_set(err, "boot cache: path too long");
	return 0;
}

/* Saves a snapshot of vm now into path (with the console so far). */
int cc_run_save(struct cc_vm *vm, const char *path, const char *why)
{
	struct cc_snapshot *s;
	struct cc_err e;
	if (cc_vm_snapshot(vm, &s, &e) ||
	    cc_snapfile_save(path, s, vm->serial, vm->serial_len, &e)) {
		fprintf(stderr, "chaoscontrol: %s: %s\n", why, e.msg);
		cc_snapshot_free(s);
		return -1;
	}
	fprintf(stderr,
		"chaoscontrol: %s saved at %.3f ms of virtual time: "
		"%s\n",
		why, vm->vclock.ns / 1e6, path);
	cc_snapshot_free(s);
	return 0;
}

int cc_run_start_from(struct cc_vm *vm, const char *path, bool is_cache,
		      struct cc_err *err)
{
	struct cc_snapshot *s;
	char *console;
	size_t clen;
	if (cc_snapfile_load(path, vm, &s, &console, &clen, err))
		return -1;
	cc_vm_console_replay(vm, console, clen);
	free(console);
	int rc = cc_vm_restore(vm, s, err);
	if (!rc)
		fprintf(stderr,
			"chaoscontrol: started from %s%s (%.3f ms of "
			"virtual time)\n",
			is_cache ? "the boot cache: " : "", path,
			vm->vclock.ns / 1e6);
	cc_snapshot_free(s);
	return rc;
}
