/*
 * One-line error messages carried up the stack.
 *
 * Every fallible function takes a `struct cc_err *` and fills it with a
 * single human-readable line naming the problem; the CLI prints it and
 * exits non-zero.  No layer prints errors itself, so tests can assert on
 * the exact text.
 */
#ifndef CC_ERR_H
#define CC_ERR_H

#include <stddef.h>

struct cc_err {
	char msg[512];
};

/* Formats into err (if non-NULL) and returns -1 so callers can
 * `return cc_err_set(err, ...)`. */
int cc_err_set(struct cc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like cc_err_set, with ": strerror(errno)" appended. */
int cc_err_errno(struct cc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
