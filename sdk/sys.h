/*
 * libchaoscontrol, the system interface: the few Linux system calls the
 * SDK makes, issued directly (x86-64 `syscall`), never through a libc.
 *
 * Why: the same SDK code is linked into static musl programs
 * (libchaoscontrol.a) and into libvoidstar.so, which the Antithesis SDKs
 * dlopen() from ordinary glibc (or musl, or Go) processes.  A library
 * that needs a libc names one (musl's libc.so could not be found by a
 * glibc program: issue 13), and a second libc in one process would fight
 * the first over errno and thread state.  Raw calls need neither.
 *
 * Every call returns what the kernel returned: >= 0, or -errno.  The
 * constants are the kernel's x86-64 ABI values.
 */
#ifndef CC_SDK_SYS_H
#define CC_SDK_SYS_H

#include <stddef.h>
#include <stdint.h>

#define CC_O_WRONLY   01
#define CC_O_RDWR     02
#define CC_O_CREAT    0100
#define CC_O_APPEND   02000
#define CC_O_SYNC     04010000
#define CC_O_CLOEXEC  02000000
#define CC_PROT_READ  1
#define CC_PROT_WRITE 2
#define CC_MAP_SHARED 1
#define CC_ESRCH      3

long cc_sys_open(const char *path, int flags, int mode);
long cc_sys_read(int fd, void *buf, size_t len);
long cc_sys_write(int fd, const void *buf, size_t len);
long cc_sys_close(int fd);
long cc_sys_ioctl(int fd, unsigned long req, unsigned long arg);
/* NULL on failure (never MAP_FAILED). */
void *cc_sys_mmap(size_t len, int prot, int flags, int fd, uint64_t off);
long cc_sys_munmap(void *p, size_t len);
long cc_sys_getpid(void);
long cc_sys_getppid(void);
long cc_sys_kill(long pid, int sig);
long cc_sys_sched_yield(void);
long cc_sys_iopl(int level);
long cc_sys_getrandom(void *buf, size_t len);
long cc_sys_mkdir(const char *path, int mode);
long cc_sys_mount(const char *src, const char *dst, const char *type);

/*
 * The value of NAME in this process's environment as it was at exec
 * (read from /proc/self/environ once, up to 64 KiB), or NULL.  The SDK
 * asks only from its constructor, before main() could change anything.
 * Not thread-safe on its first call.
 */
const char *cc_sys_getenv(const char *name);

size_t cc_strlen(const char *s);

#endif
