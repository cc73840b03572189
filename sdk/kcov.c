/*
 * libchaoscontrol, kernel coverage: when the guest kernel has KCOV (the
 * "kcov" kernel flavour), the SDK traces the kernel code its own thread
 * runs and folds those PCs into the same bitmap as user edges, before
 * each hypercall and at exit.  Without KCOV (the default kernel) it does
 * nothing, silently.
 */
#include <stdint.h>

#include "sdk_internal.h"
#include "sys.h"

/* From <linux/kcov.h> (_IOR('c', 1, unsigned long) and _IO('c', 100)),
 * which musl's headers do not carry. */
#define KCOV_INIT_TRACE 0x80086301ul
#define KCOV_ENABLE	0x6364ul
#define KCOV_TRACE_PC	0
#define KCOV_WORDS	(64u << 10)

static unsigned long *area;
static int kcov_fd = -1; /* stays open while tracing */

void cc_kcov_start(void)
{
	const char *dev = "/sys/kernel/debug/kcov";
	long fd = cc_sys_open(dev, CC_O_RDWR | CC_O_CLOEXEC, 0);
	if (fd < 0) {
		cc_sys_mkdir("/sys/kernel/debug", 0755);
		cc_sys_mount("debugfs", "/sys/kernel/debug", "debugfs");
		fd = cc_sys_open(dev, CC_O_RDWR | CC_O_CLOEXEC, 0);
	}
	if (fd < 0)
		return; /* no KCOV in this kernel */
	void *p = NULL;
	if (cc_sys_ioctl((int)fd, KCOV_INIT_TRACE, KCOV_WORDS) == 0)
		p = cc_sys_mmap(KCOV_WORDS * sizeof(unsigned long),
				CC_PROT_READ | CC_PROT_WRITE, CC_MAP_SHARED,
				(int)fd, 0);
	if (p && cc_sys_ioctl((int)fd, KCOV_ENABLE, KCOV_TRACE_PC) == 0) {
		area = p;
		__atomic_store_n(&area[0], 0, __ATOMIC_RELAXED);
	}
	if (area)
		kcov_fd = (int)fd;
	else
		cc_sys_close((int)fd);
}

void cc_kcov_flush(void)
{
	if (!area)
		return;
	unsigned long n = __atomic_load_n(&area[0], __ATOMIC_RELAXED);
	if (n > KCOV_WORDS - 1)
		n = KCOV_WORDS - 1;
	for (unsigned long i = 1; i <= n; i++) {
		uint64_t pc = area[i];
		pc ^= pc >> 29;
		pc *= 0xbf58476d1ce4e5b9ull;
		cc_cov_edge((uint32_t)(pc ^ (pc >> 32)));
	}
	__atomic_store_n(&area[0], 0, __ATOMIC_RELAXED);
}
