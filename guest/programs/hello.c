/*
 * The built-in default guest program: proves user space runs (system
 * calls, the console, /proc) and prints what the guest sees.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct utsname u;
	struct timespec mono;
	uname(&u);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	printf("hello from ChaosControl: %s %s on %s, pid %d\n", u.sysname,
	       u.release, u.machine, (int)getpid());
	printf("guest monotonic clock: %lld.%03ld s\n", (long long)mono.tv_sec,
	       mono.tv_nsec / 1000000);
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	return 0;
}
