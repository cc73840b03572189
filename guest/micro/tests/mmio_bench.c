/*
 * Benchmark baseline: 5000 bare MMIO exits (writes to a page no device
 * claims), the floor under any hypercall (bench/sdk_cost).
 */
#include "micro.h"

void micro_main(void)
{
	for (int i = 0; i < 5000; i++)
		*(volatile uint32_t *)0xd0004000ull = 1;
}
