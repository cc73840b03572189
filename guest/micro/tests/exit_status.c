/* Ends the VM with status 42 through the exit port. */
#include "micro.h"

void micro_main(void)
{
	rt_exit(42);
}
