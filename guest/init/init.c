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
 * so one cached boot serves every program; the orders also carry
 * environment entries (added to init's own) and a working directory.
 *
 * Around the program it sets up what a server expects (system.c): /tmp,
 * /dev/shm, default /etc files and lo before the ready point; after it,
 * the node's identity from the doorbell (CC_DOORBELL_NODE): host name
 * node<i>, /etc/hosts naming every node, eth0 as 10.0.0.<i+1>/24, and
 * the disk mounted at /data when the VMM says it holds the node's data.
 *
 * When the VMM manages the guest's memory (a simulation: the doorbell's
 * CC_DOORBELL_MEMLIMIT reads non-zero), init forks a memory agent that
 * polls the limit every CC_MEMLIMIT_POLL_MS and keeps all RAM above it
 * in the kernel's reserve (vm.min_free_kbytes): a MemoryPressure fault
 * becomes real pressure on the node's program, OOM killer included.
 *
 * rdtsc is made to fault (PR_SET_TSC) for init and everything it starts:
 * the TSC is host time, and the kernel itself runs without it.  The
 * patched guest kernel answers the fault from the virtual clock (patch
 * 0005), so programs that read the TSC run on, deterministically.
 *
 * The last console line is always "cc-init: exit status N" or
 * "cc-init: killed by signal N"; the VMM reads it to set its own exit
 * code.  Output is kept short: every console byte costs VM exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "system.h"

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
#define MAX_ENV	 64

/* What the node runs: from the command line, then the VMM's orders. */
struct orders {
	char *argv[MAX_ARGS + 1];
	char *env[MAX_ENV + 1]; /* added to init's own environment */
	char *cwd;		/* NULL: "/" */
};

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

/* Whether buf[0, n) holds all three sections of the orders (arguments,
 * environment, directory: protocol.h). */
static int orders_complete(const char *buf, size_t n)
{
	size_t i = 0;
	for (int section = 0; section < 2; section++) {
		while (i < n && buf[i]) /* words until an empty one */
			i += strnlen(buf + i, n - i) + 1;
		if (i >= n)
			return 0;
		i++;
	}
	return i < n && memchr(buf + i, 0, n - i) != NULL;
}

/* Splits one section of words at *at into out[] (at most max). */
static int words(char *buf, size_t *at, char **out, int max)
{
	int k = 0;
	while (buf[*at]) {
		char *w = buf + *at;
		*at += strlen(w) + 1;
		if (k < max) /* an escaped word: the byte is not part of it */
			out[k++] = w[0] == CC_ORDERS_ESCAPE ? w + 1 : w;
	}
	(*at)++;
	out[k] = NULL;
	return k;
}

/* The VMM's orders, read 8 bytes at a time. */
static void read_vmm_orders(volatile uint8_t *bell, char *buf, size_t len,
			    struct orders *o)
{
	size_t n = 0;
	while (n + 8 < len) {
		uint64_t v = *(volatile uint64_t *)(bell + CC_DOORBELL_ORDERS);
		memcpy(buf + n, &v, 8);
		n += 8;
		if (n == 8 && buf[0] == 0)
			return; /* no orders: keep the command line's */
		if (orders_complete(buf, n))
			break;
	}
	memset(buf + n, 0, len - n); /* a cut-off order still ends */
	size_t at = 0;
	words(buf, &at, o->argv, MAX_ARGS);
	words(buf, &at, o->env, MAX_ENV);
	o->cwd = at < len && buf[at] ? buf + at : NULL;
}

/* Keeps RAM above `limit` reserved; the reserve the kernel chose at boot
 * is the floor, 90 % of RAM the ceiling (the kernel must still run). */
static void apply_memlimit(uint64_t limit, long base_kb)
{
	struct sysinfo si;
	if (sysinfo(&si))
		return;
	uint64_t total = (uint64_t)si.totalram * si.mem_unit;
	uint64_t want = limit < total ? (total - limit) >> 10 : 0;
	if (want < (uint64_t)base_kb)
		want = (uint64_t)base_kb;
	if (want > total / 1024 * 9 / 10)
		want = total / 1024 * 9 / 10;
	int fd = open("/proc/sys/vm/min_free_kbytes", O_WRONLY | O_CLOEXEC);
	char num[32];
	int n = snprintf(num, sizeof(num), "%llu\n", (unsigned long long)want);
	if (fd < 0 || write(fd, num, (size_t)n) != n)
		say("cannot set min_free_kbytes (%serrno %ld)", "", errno);
	if (fd >= 0)
		close(fd);
	sysinfo(&si);
	dprintf(2,
		"cc-init: memory limit %llu MiB: %llu KiB reserved, %llu "
		"MiB free\n",
		limit == CC_MEMLIMIT_NONE ? 0ull
					  : (unsigned long long)(limit >> 20),
		(unsigned long long)want,
		(unsigned long long)((uint64_t)si.freeram * si.mem_unit >> 20));
}

/* The memory agent: follows the VMM's limit for this VM. */
static void memory_agent(volatile uint8_t *bell)
{
	char num[32] = {0};
	int fd = open("/proc/sys/vm/min_free_kbytes", O_RDONLY | O_CLOEXEC);
	long base_kb =
		fd >= 0 && read(fd, num, sizeof(num) - 1) > 0 ? atol(num) : 0;
	if (fd >= 0)
		close(fd);
	uint64_t cur = CC_MEMLIMIT_NONE;
	struct timespec period = {0, CC_MEMLIMIT_POLL_MS * 1000000L};
	for (;;) {
		nanosleep(&period, NULL);
		uint64_t v =
			*(volatile uint64_t *)(bell + CC_DOORBELL_MEMLIMIT);
		if (v != cur && v != 0)
			apply_memlimit(v, base_kb);
		cur = v;
	}
}

static void start_memory_agent(volatile uint8_t *bell)
{
	if (*(volatile uint64_t *)(bell + CC_DOORBELL_MEMLIMIT) == 0)
		return; /* the VMM does not manage memory here */
	pid_t pid = fork();
	if (pid != 0)
		return;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) { /* pressure must hit the program, not the agent */
		if (write(fd, "-1000", 5) != 5)
			say("cannot protect the memory agent (%serrno %ld)", "",
			    errno);
		close(fd);
	}
	memory_agent(bell);
	_exit(0);
}

static void ring_ready(char *buf, size_t len, struct orders *o,
		       struct cc_node *node)
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
	read_vmm_orders(p, buf, len, o);
	uint64_t id = *(volatile uint64_t *)((uint8_t *)p + CC_DOORBELL_NODE);
	node->index = (unsigned)id;
	node->count =
		(unsigned)(id >> CC_NODE_COUNT_SHIFT) & CC_NODE_COUNT_MASK;
	node->data_disk = !!(id & CC_NODE_DATA_DISK);
	node->image = !!(id & CC_NODE_IMAGE);
	/* The wall clock, carried across restarts (protocol.h). */
	uint64_t wall =
		*(volatile uint64_t *)((uint8_t *)p + CC_DOORBELL_WALLCLOCK);
	struct timespec ts = {(time_t)(wall / 1000000000u),
			      (long)(wall % 1000000000u)};
	if (wall && clock_settime(CLOCK_REALTIME, &ts) < 0)
		say("cannot set the wall clock (%serrno %ld)", "", errno);
	start_memory_agent(p); /* keeps the mapping in its copy */
	munmap(p, CC_DOORBELL_SIZE);
}

/* CLOCK_MONOTONIC counts timer ticks (the jiffies clock source) and
 * reads exactly 0 until the first one: the whole boot takes well under
 * a tick of virtual time.  Runtimes refuse a zero clock (Go: "nanotime
 * returning zero"), so wait for the first tick before the ready point;
 * the wait is idle, fast-forwarded, and inside the cached boot. */
static void wait_first_tick(void)
{
	struct timespec ts = {0, 0}, nap = {0, 1000000};
	while (!clock_gettime(CLOCK_MONOTONIC, &ts) && !ts.tv_sec &&
	       !ts.tv_nsec)
		nanosleep(&nap, NULL);
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

extern char **environ;

/* init's environment with the orders' entries added (a NAME given by
 * both takes the orders' value). */
static char **program_env(struct orders *o)
{
	static char *env[2 * MAX_ENV + 2];
	int n = 0;
	for (char **e = environ; *e && n < MAX_ENV; e++) {
		size_t name = strcspn(*e, "=");
		int overridden = 0;
		for (char **x = o->env; *x && !overridden; x++)
			overridden = !strncmp(*x, *e, name + 1);
		if (!overridden)
			env[n++] = *e;
	}
	for (char **x = o->env; *x; x++)
		env[n++] = *x;
	env[n] = NULL;
	return env;
}

int main(void)
{
	static char line[4096], buf[4096 + 16];
	static struct orders o;
	char **argv = o.argv;
	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) < 0)
		say("PR_SET_TSC failed (%serrno %ld)", "", errno);
	read_orders(line, sizeof(line), argv);
	cc_system_base();
	wait_first_tick();
	struct cc_node node = {0, 0, 0, 0};
	ring_ready(buf, sizeof(buf), &o, &node);
	cc_system_node(&node);
	const char *path = argv[0];
	pid_t pid = fork();
	if (pid == 0) {
		if (o.cwd && chdir(o.cwd) < 0) {
			say("cannot enter %s (errno %ld)", o.cwd, errno);
			_exit(127);
		}
		execve(path, argv, program_env(&o));
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
