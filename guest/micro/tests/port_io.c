/*
 * Port I/O paths: an unclaimed port reads as all ones, the PIT latch
 * reads back a count, string output (`rep outsb`, one exit for many
 * bytes) reaches the serial console.
 */
#include "micro.h"

static const char line[] = "string I/O line\n";

static long rep_outsb(long arg)
{
	(void)arg;
	const char *p = line;
	uint64_t n = sizeof(line) - 1;
	__asm__ volatile("rep outsb"
			 : "+S"(p), "+c"(n)
			 : "d"((uint16_t)CC_PORT_COM1)
			 : "memory");
	return 0;
}

void micro_main(void)
{
	RT_CHECK(rt_inb(0x2f8) == 0xff); /* COM2: nobody there */
	RT_CHECK(rt_inl(0xcfc) == 0xffffffffu);
	rt_outb(CC_PORT_PIT_MODE, 0x34);
	rt_outb(CC_PORT_PIT_BASE, 0x00);
	rt_outb(CC_PORT_PIT_BASE, 0x10); /* count 0x1000 */
	rt_outb(CC_PORT_PIT_MODE, 0x00); /* latch channel 0 */
	uint16_t c = rt_inb(CC_PORT_PIT_BASE);
	c |= (uint16_t)(rt_inb(CC_PORT_PIT_BASE) << 8);
	RT_CHECK(c > 0 && c <= 0x1000);
	rt_kernel(rep_outsb, 0);
}
