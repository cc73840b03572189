/*
 * Deliberately non-deterministic: prints the TSC read at CPL3, which
 * reads the host counter on PVM (a platform limit) and is not yet pinned
 * to virtual time on hardware.  `chaoscontrol determinism` must catch it
 * and name the first serial byte that differs.
 */
#include "micro.h"

void micro_main(void)
{
	rt_puts("tsc: ");
	rt_put_hex(rt_rdtsc());
	rt_puts("\n");
}
