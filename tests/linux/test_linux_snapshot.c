/*
 * Restore equivalence on the real guest: start from the boot cache's
 * snapshot (hostile guest), snapshot again in the middle of its run, run
 * on to a horizon, then restore and re-run 100 times in one process: the
 * trace hash must be the same every time.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapfile.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define CC CC_BUILD_DIR "/chaoscontrol"
#define MS 1000000ull

static char dir[] = "/tmp/cc-linuxsnap-XXXXXX";

/* Creates the boot cache entry for the hostile guest; returns its path. */
static void cache_entry(char *path, size_t len)
{
	char cmd[1024];
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "XDG_CACHE_HOME=%s " CC " run --seed 6 --quiet --ticks 20 "
		 "--cmdline cc.exec=/bin/hostile >/dev/null 2>&1",
		 dir);
	cr_assert_eq(system(cmd), 0);
	char boot[256];
	snprintf(boot, sizeof(boot), "%s/chaoscontrol/boot", dir);
	DIR *d = opendir(boot);
	cr_assert(d, "no boot cache directory");
	struct dirent *e;
	path[0] = 0;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".snap"))
			snprintf(path, len, "%s/%.200s", boot, e->d_name);
	closedir(d);
	cr_assert(path[0], "no boot cache entry");
}

#define run_to cc_test_run_to

Test(linux_snapshot, restore_in_mid_run_100_times, .timeout = 3600)
{
	char path[512];
	cache_entry(path, sizeof(path));
	struct cc_snapshot *ready, *mid;
	char *console;
	size_t clen;
	struct cc_err e;
	cr_assert_eq(cc_snapfile_load(path, NULL, &ready, &console, &clen, &e),
		     0, "%s", e.msg);
	free(console);
	/* Any kernel will do: the restore replaces all of memory. */
	struct cc_vm_config cfg = {
		.kernel_path = CC_BUILD_DIR "/guest/vmlinux",
		.mem_size = ready->ram_size,
		.serial_fd = -1,
	};
	struct cc_vm *vm;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_vm_restore(vm, ready, &e), 0, "%s", e.msg);
	/* The hostile guest sleeps 1 s, then forks, starts threads and
	 * busy-waits (it powers off at ~1.04 s): snapshot just after the
	 * sleep, run through the busy part. */
	uint64_t t = vm->vclock.ns + 1000 * MS, horizon = t + 30 * MS;
	run_to(vm, t);
	cr_assert_eq(cc_vm_snapshot(vm, &mid, &e), 0, "%s", e.msg);
	uint64_t want = run_to(vm, horizon);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(cc_vm_restore(vm, mid, &e), 0, "%s", e.msg);
		cr_assert_eq(run_to(vm, horizon), want, "restore %d diverged",
			     i);
	}
	cc_snapshot_free(mid);
	cc_snapshot_free(ready);
	cc_vm_destroy(vm);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
