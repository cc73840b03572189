/* Halts with interrupts off: the VMM must report a power-off. */
#include "micro.h"

void micro_main(void)
{
	rt_puts("powering off\n");
	rt_poweroff();
}
