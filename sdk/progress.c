/*
 * libchaoscontrol, progress: the edge hook of instrumented guest programs.
 *
 * Programs built with GCC's -fsanitize-coverage=trace-pc call
 * __sanitizer_cov_trace_pc() at every basic block.  Every
 * CC_SDK_EDGES_PER_YIELD of them the hook makes one cheap system call;
 * the patched guest kernel counts system calls as deterministic progress
 * and reports them to the VMM, so a pure spin (waiting for a signal, say)
 * still sees virtual time pass and never needs the watchdog.
 *
 * This file must not be instrumented itself.  Coverage collection into
 * the shared bitmap joins this hook in the SDK issue.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#define CC_SDK_EDGES_PER_YIELD 4096u

static unsigned long edges;

void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void)
{
	if (++edges % CC_SDK_EDGES_PER_YIELD == 0)
		syscall(SYS_getppid);
}
