/* Shared by the test suites: running commands and stepping VMs. */
#ifndef CC_TEST_HELPERS_H
#define CC_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

struct cc_vm;

/* Runs a shell command (printf-style); its stdout goes into out (cap
 * bytes, NUL-terminated).  Returns the exit status, -1 if it died. */
int cc_test_sh(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Runs vm until virtual time ns (which must be a limit stop, not the
 * guest ending); returns the trace hash there. */
uint64_t cc_test_run_to(struct cc_vm *vm, uint64_t ns);

#endif
