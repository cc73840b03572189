/* What the bench programs share: a wall clock and a run to a virtual time. */
#ifndef CC_BENCH_H
#define CC_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vmm/vm.h"

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs vm to virtual time ns; a guest that stops before is fatal. */
static inline void bench_run_to(struct cc_vm *vm, uint64_t ns,
				const char *bench)
{
	struct cc_vm_result res;
	vm->cfg.max_ns = ns;
	cc_vm_run(vm, &res);
	if (res.stop != CC_STOP_LIMIT) {
		fprintf(stderr, "%s: guest stopped: %s\n", bench, res.msg);
		exit(1);
	}
}

#endif
