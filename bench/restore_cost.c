/*
 * bench/restore_cost: what a snapshot restore costs as a function of the
 * pages written since the snapshot, beside the baseline a restore without
 * dirty tracking would pay - copying all of guest RAM - measured in the
 * same run on the same 256 MiB guest.
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
	cc_snapshot_free(s);
	cc_vm_destroy(vm);
	return 0;
}
