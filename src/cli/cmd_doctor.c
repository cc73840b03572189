/* `chaoscontrol doctor`: what this host is and what it can guarantee. */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../vmm/platform.h"
#include "../vmm/vm.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol doctor\n"
	"\n"
	"Probes /dev/kvm with two tiny guests and prints the platform\n"
	"(hardware KVM or PVM), the KVM capabilities ChaosControl uses, the\n"
	"cost of one exit, and which determinism guarantees hold here.\n"
	"Exit status 0 when KVM works, 3 when it does not.\n";

struct cap {
	int id;
	const char *name;
};

static const struct cap caps[] = {
	{KVM_CAP_IRQCHIP, "IRQCHIP"},
	{KVM_CAP_PIT2, "PIT2"},
	{KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
	{KVM_CAP_TSC_CONTROL, "TSC_CONTROL"},
	{KVM_CAP_EXIT_HYPERCALL, "EXIT_HYPERCALL"},
	{KVM_CAP_DIRTY_LOG_RING, "DIRTY_LOG_RING"},
	{KVM_CAP_X86_MSR_FILTER, "X86_MSR_FILTER"},
	{KVM_CAP_X86_USER_SPACE_MSR, "X86_USER_SPACE_MSR"},
	{KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, "MANUAL_DIRTY_LOG_PROTECT2"},
	{KVM_CAP_XSAVE, "XSAVE"},
	{KVM_CAP_XCRS, "XCRS"},
	{KVM_CAP_VCPU_EVENTS, "VCPU_EVENTS"},
};

static void print_caps(int kvm)
{
	printf("kvm api version:   %d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));
	printf("kvm capabilities:");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		int v = ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].id);
		printf(" %s=%d", caps[i].name, v < 0 ? 0 : v);
	}
	printf("\n");
}

static void print_guarantees(const struct cc_platform *p)
{
	printf("determinism on this host:\n");
	printf("  guaranteed: virtual clock, timer IRQs (user-space PIT/PIC), "
	       "RTC from a fixed epoch, serial\n");
	if (!p->cpuid_signature)
		printf("  CPUID filtering: IGNORED by KVM here; the guest "
		       "command line hides RDRAND/RDSEED/TSC instead\n");
	else if (p->cpuid_passthrough)
		printf("  CPUID filtering: partial: CPL0 code sees the "
		       "filtered table but RDRAND/leaf 7 pass through from the "
		       "host, and CPL3 code sees the host's; the guest command "
		       "line hides RDRAND/RDSEED/TSC from the kernel\n");
	else
		printf("  CPUID filtering: effective%s\n",
		       p->cpuid_telling ? ""
					: " (host has no RDRAND/RDSEED to "
					  "check against)");
	printf("  guest kernel code: %s\n",
	       p->kind == CC_PLATFORM_HARDWARE
		       ? "native (hardware virtualization)"
		       : "EMULATED (~1000x slower): boot once, reuse "
			 "snapshots");
	if (p->kind == CC_PLATFORM_HARDWARE)
		printf("  user-space rdtsc/rdtscp: trapped (CR4.TSD) and "
		       "emulated from the virtual clock by the guest kernel\n");
	const char *const *lim = cc_platform_limits(p->kind);
	if (*lim)
		printf("  not controllable here (platform limits, reported in "
		       "every run):\n");
	for (; *lim; lim++)
		printf("    - %s\n", *lim);
}

int cc_cmd_doctor(int argc, char **argv)
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(help, stdout);
		return CC_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr,
			"chaoscontrol doctor: unexpected argument "
			"'%s'\n",
			argv[1]);
		return CC_EXIT_USAGE;
	}
	struct cc_err e;
	int kvm = cc_kvm_open(&e);
	if (kvm < 0) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	print_caps(kvm);
	close(kvm);
	struct cc_platform p;
	if (cc_platform_probe(&p, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	printf("platform:          %s\n", cc_platform_name(p.kind));
	printf("kvm_pvm module:    %s\n", p.pvm_module ? "loaded" : "absent");
	if (cc_platform_host_is_tcg())
		printf("host:              a QEMU TCG guest (nested test "
		       "platform; its TSS quirk is handled on restore)\n");
	printf("cpl0 loop:         %.1f ns/iteration (%s; measured, does "
	       "not decide the platform)\n",
	       p.cpl0_ns_per_iter, p.cpl0_native ? "native speed" : "slow");
	printf("exit round trip:   %.1f us (port I/O, measured)\n", p.exit_us);
	print_guarantees(&p);
	return CC_EXIT_OK;
}
