/*
 * bench/restore_cost: what a snapshot restore costs as a function of the
 * pages written since the snapshot, beside the baseline a restore without
 * dirty tracking would pay - copying all of guest RAM - measured in the
 * same run on the same 256 MiB guest; then the cost of a restore and of
 * a snapshot with 1, 100 and 1000 live snapshots of the VM, as a ratio to
 * the cost with one (both must stay flat: collecting writes no longer
 * walks the live snapshots), and the bytes each kept snapshot holds.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/snapshot.h"
#include "bench.h"
#include "vmm/vm.h"

#define MEM  (256ull << 20)
#define REPS 20

#define LIVE_MAX 1000

/* Restore s after ~100 dirty pages, then snapshot and free: the best of
 * REPS, in seconds. */
static double cycle(struct cc_vm *vm, struct cc_snapshot *s, uint64_t t0)
{
	double best = 1e9;
	struct cc_err e;
	for (int r = 0; r < REPS; r++) {
		bench_run_to(vm, t0 + 100 * CC_PROGRESS_DEFAULT_NS,
			     "restore_cost");
		double a = bench_now();
		struct cc_snapshot *n;
		if (cc_vm_restore(vm, s, &e) || cc_vm_snapshot(vm, &n, &e)) {
			fprintf(stderr, "restore_cost: %s\n", e.msg);
			exit(1);
		}
		double t = bench_now() - a;
		cc_snapshot_free(n);
		best = t < best ? t : best;
	}
	return best;
}

static int many_live(struct cc_vm *vm, struct cc_snapshot *s, uint64_t t0)
{
	static const unsigned live[] = {1, 100, LIVE_MAX};
	struct cc_snapshot **keep = calloc(LIVE_MAX, sizeof(*keep));
	struct cc_err e;
	size_t nkeep = 0;
	uint64_t bytes = 0;
	double one = 0;
	if (!keep)
		return 1;
	for (size_t k = 0; k < sizeof(live) / sizeof(live[0]); k++) {
		/* More live snapshots, each ~10 pages past the last. */
		while (nkeep + 1 < live[k]) {
			bench_run_to(
				vm, vm->vclock.ns + 10 * CC_PROGRESS_DEFAULT_NS,
				"restore_cost");
			if (cc_vm_snapshot(vm, &keep[nkeep], &e)) {
				fprintf(stderr, "restore_cost: %s\n", e.msg);
				return 1;
			}
			bytes += cc_snapshot_bytes(keep[nkeep++]);
		}
		if (cc_vm_restore(vm, s, &e)) {
			fprintf(stderr, "restore_cost: %s\n", e.msg);
			return 1;
		}
		double t = cycle(vm, s, t0);
		if (!k)
			one = t;
		printf("%4u live snapshots: restore + snapshot after ~100 "
		       "dirty pages %.3f ms, %.2fx the cost with one",
		       live[k], t * 1e3, t / one);
		if (nkeep)
			printf("; %.1f KiB per kept snapshot",
			       (double)bytes / nkeep / 1024);
		printf("\n");
	}
	for (size_t k = 0; k < nkeep; k++)
		cc_snapshot_free(keep[k]);
	free(keep);
	return 0;
}

int main(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/guest/micro/dirty_pages.elf",
		 CC_BUILD_DIR);
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = MEM,
		.serial_fd = -1,
	};
	struct cc_vm *vm;
	struct cc_snapshot *s;
	struct cc_err e;
	if (cc_vm_create(&vm, &cfg, &e)) {
		fprintf(stderr, "restore_cost: %s\n", e.msg);
		return 1;
	}
	bench_run_to(vm, 1000000,
		     "restore_cost"); /* past the runtime's set-up */
	uint64_t t0 = vm->vclock.ns;
	if (cc_vm_snapshot(vm, &s, &e)) {
		fprintf(stderr, "restore_cost: %s\n", e.msg);
		return 1;
	}
	/* Baseline: a full-RAM copy, as a restore without tracking. */
	double full = 1e9;
	uint8_t *copy = malloc(MEM);
	memcpy(copy, vm->mem.host, MEM);
	for (int i = 0; i < 5; i++) {
		double a = bench_now();
		memcpy(vm->mem.host, copy, MEM);
		double t = bench_now() - a;
		full = t < full ? t : full;
	}
	free(copy);
	cc_vm_restore(vm, s, &e);
	printf("full-RAM copy of 256 MiB (baseline): %.3f ms\n", full * 1e3);
	static const unsigned pages[] = {10, 100, 1000, 10000};
	for (size_t k = 0; k < sizeof(pages) / sizeof(pages[0]); k++) {
		double best = 1e9;
		uint64_t restored = 0;
		for (int r = 0; r < REPS; r++) {
			bench_run_to(vm, t0 + pages[k] * CC_PROGRESS_DEFAULT_NS,
				     "restore_cost");
			double a = bench_now();
			if (cc_vm_restore(vm, s, &e)) {
				fprintf(stderr, "restore_cost: %s\n", e.msg);
				return 1;
			}
			double t = bench_now() - a;
			best = t < best ? t : best;
			restored = s->last_restored;
		}
		printf("restore after ~%5u dirty pages: %8.3f ms (%lu pages "
		       "copied), %.4fx the full copy\n",
		       pages[k], best * 1e3, (unsigned long)restored,
		       best / full);
	}
	if (many_live(vm, s, t0))
		return 1;
	cc_snapshot_free(s);
	cc_vm_destroy(vm);
	return 0;
}
