/*
 * Port and MMIO reads without end: every exit this guest makes is a
 * read whose completion KVM still owes when a run stops there, so a
 * restore after such a stop shows whether that completion leaks into
 * the restored state (test_snapshot.c, restore_ignores_what_ran_before).
 */
#include "micro.h"

void micro_main(void)
{
	volatile uint32_t *reg = (volatile uint32_t *)0xd0004000ull;
	uint32_t sum = 0;
	for (uint64_t i = 1;; i++) {
		sum += *reg;		  /* MMIO: nobody there, all ones */
		sum += rt_inb(0x2f8) + i; /* COM2: nobody there */
		if (!(i & 0xfff))
			rt_puts(sum & 1 ? "o" : "e");
	}
}
