/*
 * MMIO from CPL3 exits to the VMM even on PVM (where port I/O from CPL3
 * faults): a read of an address no device claims returns all ones, a
 * write is dropped.
 */
#include "micro.h"

void micro_main(void)
{
	volatile uint32_t *reg = (volatile uint32_t *)0xd0004000ull;
	*reg = 0x12345678;
	RT_CHECK(*reg == 0xffffffffu);
	rt_puts("mmio ok\n");
}
