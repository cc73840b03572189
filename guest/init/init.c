/*
 * cc-init: PID 1 of every ChaosControl Linux guest.
 *
 * Mounts /proc, /sys and /dev, reads its orders from the kernel command
 * line, runs the node's program, and powers the VM off when it exits:
 *
 *   cc.exec=PATH   program to run (default /bin/hello)
 *   -- ARGS...     everything after "--" on the command line is passed by
 *                  the kernel to init, and by init to the program
 *
 * Once the system is up, init rings the VMM's "ready" doorbell (an MMIO
 * write through /dev/mem: on PVM the only way out of CPL3): the boot
 * cache snapshots the VM there, so later runs start after the boot.
 * Then it asks the doorbell for its orders (CC_DOORBELL_ORDERS): a
 * program and arguments given to the VMM override the command line's,
 * so one cached boot serves every program.
 *
 * rdtsc is made to fault (PR_SET_TSC) for init and everything it starts:
 * the TSC is host time, and the kernel itself runs without it.
 *
 * The last console line is always "cc-init: exit status N" or
 * "cc-init: killed by signal N"; the VMM reads it to set its own exit
 * code.  Output is kept short: every console byte costs VM exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"

#define DEFAULT_EXEC "/bin/hello"

static void say(const char *fmt, const char *a, long n)
{
	dprintf(2, "cc-init: ");
	dprintf(2, fmt, a, n);
	dprintf(2, "\n");
}

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) < 0 && errno != EBUSY)
		say("mount %s failed (errno %ld)", dir, errno);
}

#define MAX_ARGS 64

/*
 * Parses /proc/cmdline: "cc.exec=PATH" names the program, the words after
 * "--" are its arguments.  (The kernel also hands init every parameter it
 * does not know, so init's own argv is not a reliable source.)
 */
static void read_orders(char *line, size_t len, char **argv)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, line, len - 1);
	if (fd >= 0)
		close(fd);
	argv[0] = DEFAULT_EXEC;
	argv[1] = NULL;
	if (n <= 0)
		return;
	line[n] = 0;
	int argc = 1, after_dashes = 0;
	for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (after_dashes && argc < MAX_ARGS)
			argv[argc++] = tok;
		else if (!strcmp(tok, "--"))
			after_dashes = 1;
		else if (!strncmp(tok, "cc.exec=", 8) && tok[8])
			argv[0] = tok + 8;
	}
	argv[argc] = NULL;
}

/* The VMM's orders, read 8 bytes at a time: words, then an empty one. */
static void read_vmm_orders(volatile uint8_t *bell, char *buf, size_t len,
			    char **argv)
{
	size_t n = 0;
	int words = 0;
	while (n + 8 < len) {
		uint64_t v = *(volatile uint64_t *)(bell + CC_DOORBELL_ORDERS);
		memcpy(buf + n, &v, 8);
		n += 8;
		if (n == 8 && buf[0] == 0)
			return; /* no orders: keep the command line's */
		if (memmem(buf, n, "\0\0", 2))
			break;
	}
	buf[n] = buf[n + 1] = 0;
	for (char *w = buf; *w && words < MAX_ARGS; w += strlen(w) + 1)
		argv[words++] = w;
	argv[words] = NULL;
}

static void ring_ready(char *buf, size_t len, char **argv)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		/* A kernel without /dev/mem: no boot cache, no harm. */
		say("no /dev/mem (%serrno %ld): no ready signal", "", errno);
		return;
	}
	void *p = mmap(NULL, CC_DOORBELL_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, (off_t)CC_DOORBELL_GPA);
	close(fd);
	if (p == MAP_FAILED) {
		say("cannot map the ready doorbell (%serrno %ld)", "", errno);
		return;
	}
	*(volatile uint32_t *)p = CC_DOORBELL_READY;
	read_vmm_orders(p, buf, len, argv);
	munmap(p, CC_DOORBELL_SIZE);
}

static void power_off(void)
{
	/* The console is a tty: what we wrote may still sit in its buffer,
	 * and powering off would drop it.  Wait until it is on the wire. */
	tcdrain(2);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	static char line[4096], orders[4096 + 16];
	char *argv[MAX_ARGS + 1];
	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) < 0)
		say("PR_SET_TSC failed (%serrno %ld)", "", errno);
	read_orders(line, sizeof(line), argv);
	ring_ready(orders, sizeof(orders), argv);
	const char *path = argv[0];
	pid_t pid = fork();
	if (pid == 0) {
		execv(path, argv);
		say("cannot exec %s (errno %ld)", path, errno);
		_exit(127);
	}
	if (pid < 0) {
		say("fork failed (%s%ld)", "errno ", errno);
		power_off();
	}
	int status = 0;
	for (;;) { /* reap orphans too; stop when our program is gone */
		pid_t w = wait(&status);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
	}
	if (WIFSIGNALED(status))
		say("killed by signal %s%ld", "", WTERMSIG(status));
	else
		say("exit status %s%ld", "", WEXITSTATUS(status));
	power_off();
	return 0;
}
