/*
 * Benchmark guest: writes one new 4 KiB page of a 48 MiB arena per step
 * and reports one progress unit per step, so after T of virtual time it
 * has dirtied T / (progress cost) pages - the restore benchmark picks
 * how many by choosing the horizon.
 */
#include "micro.h"

#define ARENA (48u << 20)

/* volatile: the stores are the point, nothing reads them back */
static volatile uint8_t arena[ARENA] __attribute__((aligned(4096)));

void micro_main(void)
{
	for (uint64_t i = 0;; i++) {
		arena[(i * 4096) % ARENA] = (uint8_t)(i + 1);
		rt_progress(1);
	}
}
