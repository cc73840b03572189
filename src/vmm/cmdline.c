#include "cmdline.h"

#include <stdio.h>

#include "chaoscontrol/protocol.h"

/*
 * Why each flag is there (docs/GUEST-KERNEL.md has the details):
 *  console=ttyS0        our 8250 on COM1 is the only console
 *  nolapic noapic       interrupts come from our user-space 8259A only;
 *                       the LAPIC timer would run on host time
 *  notsc clocksource=jiffies tsc=unstable
 *                       keep time off the host TSC (PVM cannot hide it)
 *  lpj=                 skip delay-loop calibration (it spins on jiffies)
 *  nokaslr norandmaps randomize_kstack_offset=off
 *                       no randomized layouts
 *  nopv no-kvmclock     no paravirtual clock even if advertised
 *  noxsave clearcpuid=  steer the kernel off instructions PVM's emulator
 *                       lacks (CPUID filtering is ignored there)
 *  io_delay=none        no port-0x80 write after every legacy port access
 *  reboot=t panic=-1    a panic ends in a triple fault the VMM reports
 *  cc_progress          the patched kernel reports system calls and page
 *                       faults on the progress port (virtual time for
 *                       busy guests; unknown to other kernels, harmless)
 *  cc_clock=GPA         the patched kernel emulates user-mode rdtsc from
 *                       the virtual clock page (vclock.h) instead of
 *                       killing the program with SIGSEGV
 */
static const char base[] =
	"console=ttyS0 nolapic noapic notsc tsc=unstable clocksource=jiffies "
	"lpj=10000 nokaslr norandmaps randomize_kstack_offset=off nopv "
	"no-kvmclock noxsave io_delay=none reboot=t panic=-1 cc_progress "
	"clearcpuid=rdrand,rdseed,smap,popcnt,cx16,tsc";

int cc_cmdline_build(char *buf, size_t len, const struct cc_cmdline_opts *o,
		     struct cc_err *err)
{
	/* clearcpuid= is read once (its first occurrence): it stays last
	 * among our flags so the AVX names extend the same list. */
	int n = snprintf(
		buf, len, "%s%s cc_clock=%#llx%s%s%s%s%s%s", base,
		o->hide_avx ? ",avx2,avx512f" : "",
		(unsigned long long)CC_CLOCK_GPA, o->verbose ? "" : " quiet",
		o->platform == CC_PLATFORM_PVM ? " cc_pvm_syscall" : "",
		o->devices && *o->devices ? " " : "",
		o->devices ? o->devices : "",
		o->append && *o->append ? " " : "", o->append ? o->append : "");
	if (n < 0 || (size_t)n >= len)
		return cc_err_set(err, "kernel command line too long");
	return 0;
}
