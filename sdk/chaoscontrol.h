/*
 * libchaoscontrol: the guest SDK.  Programs inside a ChaosControl VM
 * declare properties, mark their lifecycle, draw guided randomness and
 * report coverage through it.  Link with libchaoscontrol.a (musl or glibc).
 *
 * Modes, chosen once at start-up:
 *   VM        the hypercall page answers (ChaosControl guest): every call
 *             goes to the VMM (include/chaoscontrol/protocol.h);
 *   local     CHAOSCONTROL_SDK_LOCAL_OUTPUT (or ANTITHESIS_SDK_LOCAL_OUTPUT)
 *             names a file: records are appended to it as JSON lines in
 *             the Antithesis assertion schema;
 *   no-op     otherwise: calls do nothing (random numbers still work).
 *
 * Assertions (message: a string literal naming the property; details: a
 * JSON object as text, or NULL):
 *   CC_ALWAYS(cond, message, details)          true every time, and reached
 *   CC_ALWAYS_OR_UNREACHABLE(cond, message, details)  true every time
 *   CC_SOMETIMES(cond, message, details)       true at least once
 *   CC_REACHABLE(message, details)             reached at least once
 *   CC_UNREACHABLE(message, details)           never reached
 *   CC_ALWAYS_LT/LE/GT/GE/EQ/NE(a, b, message, details)   numeric forms;
 *   CC_SOMETIMES_LT/LE/GT/GE/EQ/NE(a, b, message, details) the details get
 *                                              "left" and "right"
 *   CC_ALWAYS_SOME(names, values, n, message)  some named bool is true,
 *                                              every time
 *   CC_SOMETIMES_ALL(names, values, n, message) all are true, at least once
 * Each assertion site registers itself at start-up (a catalog in its own
 * ELF section), so one that is never reached is still reported.
 */
#ifndef CHAOSCONTROL_SDK_H
#define CHAOSCONTROL_SDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cc_sdk_mode { CC_SDK_NOOP, CC_SDK_LOCAL, CC_SDK_VM };

/* One assertion site; the macros make them, in section "cc_sites". */
struct cc_site {
	const char *assert_type;  /* "always", "sometimes", "reachability" */
	const char *display_type; /* "Always", "AlwaysOrUnreachable", ... */
	const char *message;
	const char *file;
	const char *function;
	int line;
	bool must_hit;
	bool registered;
};

#define CC__SITE(type, display, must, msg)                                     \
	static struct cc_site cc__site __attribute__((section("cc_sites"),     \
						      used, aligned(8))) = {   \
		type, display, msg, __FILE__, __func__, __LINE__, must, false}

#define CC__ASSERT(type, display, must, cond, msg, details)                    \
	do {                                                                   \
		CC__SITE(type, display, must, msg);                            \
		cc_sdk_assert(&cc__site, (cond), (details));                   \
	} while (0)

#define CC_ALWAYS(cond, msg, details)                                          \
	CC__ASSERT("always", "Always", true, cond, msg, details)
#define CC_ALWAYS_OR_UNREACHABLE(cond, msg, details)                           \
	CC__ASSERT("always", "AlwaysOrUnreachable", false, cond, msg, details)
#define CC_SOMETIMES(cond, msg, details)                                       \
	CC__ASSERT("sometimes", "Sometimes", true, cond, msg, details)
#define CC_REACHABLE(msg, details)                                             \
	CC__ASSERT("reachability", "Reachable", true, true, msg, details)
#define CC_UNREACHABLE(msg, details)                                           \
	CC__ASSERT("reachability", "Unreachable", false, false, msg, details)

#define CC__CMP(type, display, op, a, b, msg, details)                         \
	do {                                                                   \
		CC__SITE(type, display, true, msg);                            \
		double cc__l = (double)(a), cc__r = (double)(b);               \
		cc_sdk_assert_cmp(&cc__site, cc__l op cc__r, cc__l, cc__r,     \
				  (details));                                  \
	} while (0)
#define CC_ALWAYS_LT(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysLessThan", <, a, b, m, d)
#define CC_ALWAYS_LE(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysLessThanOrEqualTo", <=, a, b, m, d)
#define CC_ALWAYS_GT(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysGreaterThan", >, a, b, m, d)
#define CC_ALWAYS_GE(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysGreaterThanOrEqualTo", >=, a, b, m, d)
#define CC_ALWAYS_EQ(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysEqual", ==, a, b, m, d)
#define CC_ALWAYS_NE(a, b, m, d)                                               \
	CC__CMP("always", "AlwaysNotEqual", !=, a, b, m, d)
#define CC_SOMETIMES_LT(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesLessThan", <, a, b, m, d)
#define CC_SOMETIMES_LE(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesLessThanOrEqualTo", <=, a, b, m, d)
#define CC_SOMETIMES_GT(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesGreaterThan", >, a, b, m, d)
#define CC_SOMETIMES_GE(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesGreaterThanOrEqualTo", >=, a, b, m, d)
#define CC_SOMETIMES_EQ(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesEqual", ==, a, b, m, d)
#define CC_SOMETIMES_NE(a, b, m, d)                                            \
	CC__CMP("sometimes", "SometimesNotEqual", !=, a, b, m, d)

#define CC_ALWAYS_SOME(names, values, n, msg)                                  \
	do {                                                                   \
		CC__SITE("always", "AlwaysSome", true, msg);                   \
		cc_sdk_assert_bools(&cc__site, false, (names), (values), (n)); \
	} while (0)
#define CC_SOMETIMES_ALL(names, values, n, msg)                                \
	do {                                                                   \
		CC__SITE("sometimes", "SometimesAll", true, msg);              \
		cc_sdk_assert_bools(&cc__site, true, (names), (values), (n));  \
	} while (0)

/* The mode the SDK chose at start-up. */
enum cc_sdk_mode cc_sdk_mode(void);

/* Lifecycle: the system under test is up; faults may start now. */
void cc_setup_complete(const char *details_json);
/* A named event with details, recorded in the run's log. */
void cc_send_event(const char *name, const char *details_json);

/* Guided randomness: from the VM's seeded stream (recorded, and
 * overridable by the explorer); elsewhere from the OS. */
uint64_t cc_get_random(void);
/* A choice in [0, n); n = 0 gives 0. */
uint64_t cc_random_choice(uint64_t n);

/* Sends any coverage gathered so far (kernel KCOV edges included). */
void cc_sdk_flush(void);

/* Used by the macros. */
void cc_sdk_assert(struct cc_site *s, bool cond, const char *details);
void cc_sdk_assert_cmp(struct cc_site *s, bool cond, double left, double right,
		       const char *details);
void cc_sdk_assert_bools(struct cc_site *s, bool all, const char *const *names,
			 const bool *values, size_t n);

#endif
