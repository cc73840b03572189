/*
 * libchaoscontrol, kernel coverage: when the guest kernel has KCOV (the
 * "kcov" kernel flavour), the SDK traces the kernel code its own thread
 * runs and folds those PCs into the same bitmap as user edges, before
 * each hypercall and at exit.  Without KCOV (the default kernel) it does
 * nothing, silently.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sdk_internal.h"

/* From <linux/kcov.h>, which musl's headers do not carry. */
#define KCOV_INIT_TRACE _IOR('c', 1, unsigned long)
#define KCOV_ENABLE	_IO('c', 100)
#define KCOV_TRACE_PC	0
#define KCOV_WORDS	(64u << 10)

static unsigned long *area;
static int kcov_fd = -1; /* stays open while tracing */

void cc_kcov_start(void)
{
	int fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		mkdir("/sys/kernel/debug", 0755);
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return; /* no KCOV in this kernel */
	void *p = MAP_FAILED;
	if (ioctl(fd, KCOV_INIT_TRACE, KCOV_WORDS) == 0)
		p = mmap(NULL, KCOV_WORDS * sizeof(unsigned long),
			 PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED && ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC) == 0) {
		area = p;
		__atomic_store_n(&area[0], 0, __ATOMIC_RELAXED);
	}
	if (area)
		kcov_fd = fd;
	else
		close(fd);
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
