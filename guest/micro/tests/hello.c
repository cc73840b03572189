/* Prints a line from CPL3 and exits 0: the smallest end-to-end run. */
#include "micro.h"

void micro_main(void)
{
	rt_puts("hello from a micro-guest at CPL3\n");
}
