/*
 * The hostile guest: observes every source of time, randomness and
 * scheduling a program can reach, and prints what it saw plus a digest.
 * Two runs with the same seed must print the same bytes; two seeds must
 * differ in the random bytes.  Built with the SDK's edge hook
 * (-fsanitize-coverage=trace-pc + sdk/progress.c), as systems under test
 * are, so its pure spin sees virtual time pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t digest = 0xcbf29ce484222325ull;

static void mix(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		digest ^= b[i];
		digest *= 0x100000001b3ull;
	}
}

static void note(const char *what, long long v)
{
	printf("%s: %lld\n", what, v);
	mix(what, strlen(what));
	mix(&v, sizeof(v));
}

static void note_hex(const char *what, const unsigned char *b, size_t n)
{
	printf("%s:", what);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", b[i]);
	printf("\n");
	mix(b, n);
}

static long long ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t))
		return -1;
	return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void clocks(void)
{
	static const struct {
		clockid_t id;
		const char *name;
	} cs[] = {
		{CLOCK_REALTIME, "clock realtime ns"},
		{CLOCK_MONOTONIC, "clock monotonic ns"},
		{CLOCK_MONOTONIC_RAW, "clock monotonic_raw ns"},
		{CLOCK_BOOTTIME, "clock boottime ns"},
		{CLOCK_REALTIME_COARSE, "clock realtime_coarse ns"},
		{CLOCK_MONOTONIC_COARSE, "clock monotonic_coarse ns"},
		{CLOCK_PROCESS_CPUTIME_ID, "clock process_cputime ns"},
		{CLOCK_THREAD_CPUTIME_ID, "clock thread_cputime ns"},
	};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		note(cs[i].name, ns(cs[i].id));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	note("gettimeofday us", (long long)tv.tv_sec * 1000000 + tv.tv_usec);
	note("time s", (long long)time(NULL));
}

static sigjmp_buf tsc_jmp;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(tsc_jmp, 1);
}

/* With PR_SET_TSC(SIGSEGV) from init, rdtsc faults; the patched guest
 * kernel answers it from the virtual clock (1 GHz nominal, so the value
 * is virtual ns: a little above CLOCK_MONOTONIC, which counts from just
 * after vclock 0).  A platform that ignores CR4.TSD (PVM) lets the host
 * counter through: say so, and keep its value out of the output. */
static void tsc(void)
{
	/* Turning the host TSC back on must be refused (patch 0005). */
	if (prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0) == 0)
		printf("PR_TSC_ENABLE: allowed\n");
	else
		printf("PR_TSC_ENABLE: refused (%s)\n",
		       errno == EPERM ? "EPERM" : "other error");
	struct sigaction sa = {.sa_handler = on_segv}, old;
	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(tsc_jmp, 1) == 0) {
		unsigned lo, hi;
		long long mono = ns(CLOCK_MONOTONIC);
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		long long t = (long long)((unsigned long long)hi << 32 | lo);
		if (t >= mono && t - mono < 1000000000ll)
			note("rdtsc: emulated from the virtual clock", t);
		else
			printf("rdtsc: NOT trapped: user space reads the host "
			       "TSC (platform limit)\n");
	} else {
		printf("rdtsc: trapped (SIGSEGV)\n");
	}
	sigaction(SIGSEGV, &old, NULL);
}

static void sleeps(void)
{
	long long t0 = ns(CLOCK_MONOTONIC);
	sleep(1);
	note("sleep(1) took ns", ns(CLOCK_MONOTONIC) - t0);
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {.it_value = {0, 20000000}};
	t0 = ns(CLOCK_MONOTONIC);
	timerfd_settime(fd, 0, &its, NULL);
	uint64_t expirations = 0;
	if (read(fd, &expirations, sizeof(expirations)) < 0)
		expirations = 0;
	close(fd);
	note("timerfd 20 ms took ns", ns(CLOCK_MONOTONIC) - t0);
}

static void randomness(void)
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b));
	if (fd >= 0)
		close(fd);
	note_hex("urandom", b, sizeof(b));
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b));
	note_hex("getrandom", b, sizeof(b));
}

static void *worker(void *arg)
{
	long id = (long)arg;
	unsigned long long acc = 0;
	for (long i = 0; i < 100000 * (id + 1); i++)
		acc += (unsigned long long)i * (unsigned long long)id;
	return (void *)(uintptr_t)acc;
}

static void processes(void)
{
	int p[2];
	if (pipe(p))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "child pid %d",
				 (int)getpid());
		if (write(p[1], msg, (size_t)n) < 0)
			_exit(1);
		_exit(7);
	}
	close(p[1]);
	char buf[64] = "";
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("pipe from child: %s\n", buf);
	mix(buf, strlen(buf));
	note("child exit status", WEXITSTATUS(st));
	pthread_t t[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		note("thread result", (long long)(uintptr_t)r);
	}
}

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void busy_waits(void)
{
	long long t0 = ns(CLOCK_MONOTONIC), polls = 0;
	while (ns(CLOCK_MONOTONIC) - t0 < 10000000)
		polls++;
	note("busy clock: polls until 10 ms", polls);
	signal(SIGALRM, on_alarm);
	struct itimerval it = {.it_value = {0, 10000}};
	long long spins = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	while (!alarmed)
		spins++;
	note("busy spin: iterations until SIGALRM", spins);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("hostile guest: start\n");
	clocks();
	tsc();
	sleeps();
	randomness();
	processes();
	busy_waits();
	clocks();
	printf("digest: %016llx\n", (unsigned long long)digest);
	return 0;
}
