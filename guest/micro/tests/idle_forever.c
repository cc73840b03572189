/* Halts with interrupts on but no timer armed: nothing can ever wake it,
 * and the VMM must say so rather than hang. */
#include "micro.h"

void micro_main(void)
{
	rt_hlt();
	rt_puts("woke up with no interrupt source\n");
	rt_exit(1);
}
