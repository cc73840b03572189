/* Loads an empty IDT at CPL0 and faults: the CPU cannot deliver the
 * exception, nor the #DF, and shuts down (the VMM reports a triple fault). */
#include "micro.h"

static long crash(long arg)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = {0, 0};
	(void)arg;
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	return 0;
}

void micro_main(void)
{
	rt_kernel(crash, 0);
	rt_puts("still alive after the triple fault\n");
	rt_exit(1);
}
