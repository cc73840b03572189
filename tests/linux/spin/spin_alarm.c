/*
 * A program that spins waiting for signals: a 3 ms interval timer and a
 * loop that watches a flag, with no system call, fault or instrumented
 * edge inside it.  Nothing the guest does makes an exit while it spins,
 * so only the watchdog moves virtual time on (test_spin.c): the run
 * must end soon, count the firings and name spin_until_alarms.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#define ALARMS 5

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* noinline: the report must find this name, not main's. */
__attribute__((noinline)) static void spin_until_alarms(void)
{
	while (alarms < ALARMS)
		;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	struct itimerval it = {{0, 3000}, {0, 3000}};
	if (sigaction(SIGALRM, &sa, NULL) ||
	    setitimer(ITIMER_REAL, &it, NULL)) {
		perror("spin_alarm");
		return 1;
	}
	spin_until_alarms();
	it = (struct itimerval){{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	printf("spin_alarm: %d alarms: done\n", (int)alarms);
	return 0;
}
