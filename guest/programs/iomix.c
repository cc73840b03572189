/*
 * iomix [ROUNDS]: disk and network traffic at once - `diskcheck raw
 * ROUNDS` and `netcheck ROUNDS` (default 10) run side by side - for
 * snapshots taken in the middle of both.  Exit 0 when both succeeded.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t start(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	char *rounds = argc > 1 ? argv[1] : "10";
	char *disk[] = {"/bin/diskcheck", "raw", rounds, NULL};
	char *net[] = {"/bin/netcheck", rounds, NULL};
	pid_t a = start(disk), b = start(net);
	int sa = -1, sb = -1;
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	int ok = WIFEXITED(sa) && !WEXITSTATUS(sa) && WIFEXITED(sb) &&
		 !WEXITSTATUS(sb);
	printf("iomix: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
