/*
 * A guest whose future depends on the seed: each tick it reads random
 * bytes from the doorbell (the VM's entropy stream), takes a random
 * step, dirties a random page and prints its position now and then.
 * Forked branches reseeded differently must diverge; the same seed must
 * replay exactly.
 */
#include "micro.h"

#define ARENA (1u << 20)

static volatile uint8_t arena[ARENA] __attribute__((aligned(4096)));

static uint64_t random64(void)
{
	return *(volatile uint64_t *)(CC_DOORBELL_GPA + CC_DOORBELL_RANDOM);
}

void micro_main(void)
{
	rt_timer_start(1000);
	int64_t pos = 0;
	for (uint64_t seen = 0;; seen = rt_ticks) {
		while (rt_ticks == seen)
			rt_hlt();
		uint64_t r = random64();
		pos += (r & 1) ? 1 : -1;
		arena[(r >> 8) % ARENA] = (uint8_t)pos;
		if (rt_ticks % 16 == 0) {
			rt_puts("pos ");
			rt_put_u64((uint64_t)pos);
			rt_puts("\n");
		}
	}
}
