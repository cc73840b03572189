/*
 * bench/sdk_cost: what one SDK assertion costs the VM - exits per call and
 * wall time per call - against the floor every hypercall stands on, a bare
 * MMIO exit, measured in the same run: micro-guest sdk_bench sends 5000
 * assertion records (the JSON libchaoscontrol sends), mmio_bench makes
 * 5000 bare MMIO writes.  The guest-side cost of formatting a record is
 * measured natively by bench/sdk_host (make bench runs both).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "vmm/vm.h"

#define N 5000

struct result {
	double wall;
	uint64_t exits, calls;
};

static struct result run(const char *guest)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/guest/micro/%s.elf", CC_BUILD_DIR,
		 guest);
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
	};
	struct cc_vm *vm;
	struct cc_err e;
	struct cc_vm_result res;
	if (cc_vm_create(&vm, &cfg, &e)) {
		fprintf(stderr, "sdk_cost: %s\n", e.msg);
		exit(1);
	}
	double t0 = bench_now();
	cc_vm_run(vm, &res);
	struct result r = {bench_now() - t0, 0, vm->hc.calls};
	if (res.stop != CC_STOP_EXIT_PORT || res.exit_status) {
		fprintf(stderr, "sdk_cost: %s failed: %s\n", guest, res.msg);
		exit(1);
	}
	for (int i = 0; i < CC_EXIT_HOST; i++)
		r.exits += vm->stats.exits[i];
	cc_vm_destroy(vm);
	return r;
}

int main(void)
{
	struct result base = run("mmio_bench"), sdk = run("sdk_bench");
	double base_ns = base.wall / N * 1e9, sdk_ns = sdk.wall / N * 1e9;
	printf("bare MMIO exit:        %8.0f ns/exit (%llu exits)\n", base_ns,
	       (unsigned long long)base.exits);
	printf("SDK assertion call:    %8.0f ns/call, %.3f exits/call "
	       "(%llu calls, %llu exits)\n",
	       sdk_ns, (double)sdk.exits / (double)sdk.calls,
	       (unsigned long long)sdk.calls, (unsigned long long)sdk.exits);
	printf("ratio call/bare exit:  %.2fx\n", sdk_ns / base_ns);
	return 0;
}
