/*
 * bench/dirty_tracking: KVM's dirty log against KVM's dirty ring, the two
 * ways a restore learns which pages the guest wrote.  The same guest
 * (dirty_pages: one new page per progress unit) dirties N pages, then one
 * harvest is timed; N = 100, 1 000, 10 000, on a 256 MiB VM, best of 10.
 * The guest's own slowdown under each mode is reported too (wall time of
 * the run that dirtied the pages), since the ring costs on the write side
 * and the log on the collection side.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vmm/snapshot.h"
#include "bench.h"
#include "vmm/vm.h"

#define MEM  (256ull << 20)
#define RING 65536u
#define REPS 10

static void check(int rc, const struct cc_err *e)
{
	if (rc) {
		fprintf(stderr, "dirty_tracking: %s\n", e->msg);
		exit(1);
	}
}

/* Best harvest time (s) and run time (s) for n dirtied pages. */
static void measure(uint32_t ring, unsigned n, double *harvest, double *run)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/guest/micro/dirty_pages.elf",
		 CC_BUILD_DIR);
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = MEM,
		.serial_fd = -1,
		.dirty_ring_entries = ring,
	};
	struct cc_vm *vm;
	struct cc_snapshot *s;
	struct cc_err e;
	check(cc_vm_create(&vm, &cfg, &e), &e);
	bench_run_to(vm, 1000000, "dirty_tracking");
	check(cc_vm_snapshot(vm, &s, &e), &e); /* turns tracking on */
	*harvest = *run = 1e9;
	for (int r = 0; r < REPS; r++) {
		double a = bench_now();
		bench_run_to(vm, vm->vclock.ns + n * CC_PROGRESS_DEFAULT_NS,
			     "dirty_tracking");
		double b = bench_now();
		check(cc_vm_dirty_harvest(vm, &e), &e);
		double c = bench_now();
		*run = b - a < *run ? b - a : *run;
		*harvest = c - b < *harvest ? c - b : *harvest;
	}
	cc_snapshot_free(s);
	cc_vm_destroy(vm);
}

int main(void)
{
	static const unsigned ns[] = {100, 1000, 10000};
	printf("%8s  %-22s  %-22s  %s\n", "pages", "dirty log (baseline)",
	       "dirty ring", "ring/log harvest");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		double hl, rl, hr, rr;
		measure(0, ns[i], &hl, &rl);
		measure(RING, ns[i], &hr, &rr);
		printf("%8u  harvest %7.3f ms      harvest %7.3f ms      "
		       "%.2fx\n",
		       ns[i] * 10 / 11, hl * 1e3, hr * 1e3, hr / hl);
		printf("%8s  guest run %7.2f ms    guest run %7.2f ms\n", "",
		       rl * 1e3, rr * 1e3);
	}
	return 0;
}
