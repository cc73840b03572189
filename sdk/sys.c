/*
 * libchaoscontrol, the system interface (sys.h): raw x86-64 system
 * calls.  Built into libchaoscontrol.a and, with CC_SDK_FREESTANDING,
 * into libvoidstar.so, which then also carries the four memory routines
 * the compiler may call on its own (it links no libc to provide them;
 * built with -fno-tree-loop-distribute-patterns so they do not call
 * themselves).  Not instrumented.
 */
#include "sys.h"

#include <stdbool.h>

enum {
	NR_READ = 0,
	NR_WRITE = 1,
	NR_CLOSE = 3,
	NR_MMAP = 9,
	NR_MUNMAP = 11,
	NR_IOCTL = 16,
	NR_SCHED_YIELD = 24,
	NR_GETPID = 39,
	NR_KILL = 62,
	NR_MKDIR = 83,
	NR_GETPPID = 110,
	NR_MOUNT = 165,
	NR_IOPL = 172,
	NR_OPENAT = 257,
	NR_GETRANDOM = 318,
};
#define AT_FDCWD (-100)

static long sc(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define L(x) ((long)(x))

long cc_sys_open(const char *path, int flags, int mode)
{
	return sc(NR_OPENAT, AT_FDCWD, L(path), flags, mode, 0, 0);
}

long cc_sys_read(int fd, void *buf, size_t len)
{
	return sc(NR_READ, fd, L(buf), L(len), 0, 0, 0);
}

long cc_sys_write(int fd, const void *buf, size_t len)
{
	return sc(NR_WRITE, fd, L(buf), L(len), 0, 0, 0);
}

long cc_sys_close(int fd)
{
	return sc(NR_CLOSE, fd, 0, 0, 0, 0, 0);
}

long cc_sys_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return sc(NR_IOCTL, fd, L(req), L(arg), 0, 0, 0);
}

void *cc_sys_mmap(size_t len, int prot, int flags, int fd, uint64_t off)
{
	long r = sc(NR_MMAP, 0, L(len), prot, flags, fd, L(off));
	/* The kernel's errors are -4095..-1; no mapping ends up there. */
	return r < 0 && r >= -4095 ? NULL : (void *)r;
}

long cc_sys_munmap(void *p, size_t len)
{
	return sc(NR_MUNMAP, L(p), L(len), 0, 0, 0, 0);
}

long cc_sys_getpid(void)
{
	return sc(NR_GETPID, 0, 0, 0, 0, 0, 0);
}

long cc_sys_getppid(void)
{
	return sc(NR_GETPPID, 0, 0, 0, 0, 0, 0);
}

long cc_sys_kill(long pid, int sig)
{
	return sc(NR_KILL, pid, sig, 0, 0, 0, 0);
}

long cc_sys_sched_yield(void)
{
	return sc(NR_SCHED_YIELD, 0, 0, 0, 0, 0, 0);
}

long cc_sys_iopl(int level)
{
	return sc(NR_IOPL, level, 0, 0, 0, 0, 0);
}

long cc_sys_getrandom(void *buf, size_t len)
{
	return sc(NR_GETRANDOM, L(buf), L(len), 0, 0, 0, 0);
}

long cc_sys_mkdir(const char *path, int mode)
{
	return sc(NR_MKDIR, L(path), mode, 0, 0, 0, 0);
}

long cc_sys_mount(const char *src, const char *dst, const char *type)
{
	return sc(NR_MOUNT, L(src), L(dst), L(type), 0, 0, 0);
}

size_t cc_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

#define ENV_MAX (64u << 10)
static char env[ENV_MAX + 1];
static long env_len = -1; /* not read yet */

static void read_env(void)
{
	env_len = 0;
	long fd = cc_sys_open("/proc/self/environ", CC_O_CLOEXEC, 0);
	if (fd < 0)
		return; /* no /proc: an empty environment */
	while (env_len < (long)ENV_MAX) {
		long n = cc_sys_read((int)fd, env + env_len,
				     ENV_MAX - (size_t)env_len);
		if (n <= 0)
			break;
		env_len += n;
	}
	cc_sys_close((int)fd);
	env[env_len] = 0; /* a cut-off last entry still ends */
}

const char *cc_sys_getenv(const char *name)
{
	if (env_len < 0)
		read_env();
	size_t n = cc_strlen(name);
	for (long i = 0; i < env_len;) {
		const char *e = env + i;
		size_t len = cc_strlen(e);
		bool match = len > n && e[n] == '=';
		for (size_t k = 0; match && k < n; k++)
			match = e[k] == name[k];
		if (match)
			return e + n + 1;
		i += (long)len + 1;
	}
	return NULL;
}

#ifdef CC_SDK_FREESTANDING
/* Hidden: each process keeps its own libc's routines for itself. */
#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *memcpy(void *d, const void *s, size_t n);
HIDDEN void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *o = d;
	const unsigned char *i = s;
	while (n--)
		*o++ = *i++;
	return d;
}

HIDDEN void *memmove(void *d, const void *s, size_t n);
HIDDEN void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *o = d;
	const unsigned char *i = s;
	if (o < i) {
		while (n--)
			*o++ = *i++;
	} else {
		while (n--)
			o[n] = i[n];
	}
	return d;
}

HIDDEN void *memset(void *d, int c, size_t n);
HIDDEN void *memset(void *d, int c, size_t n)
{
	unsigned char *o = d;
	while (n--)
		*o++ = (unsigned char)c;
	return d;
}

HIDDEN int memcmp(const void *a, const void *b, size_t n);
HIDDEN int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}
#endif
