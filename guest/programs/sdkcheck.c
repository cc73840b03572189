/*
 * sdkcheck: every call of the guest SDK, written so that each verdict
 * the PropertyOracle can give appears exactly where intended (the names
 * say which).  Also draws random values and branches on a choice, so
 * different choices cover different code.
 *
 *   sdkcheck [ROUNDS]    (default 10)
 *
 * Prints the SDK mode, the random values and the branch taken.
 */
#include <stdio.h>
#include <stdlib.h>

#include "chaoscontrol.h"

static volatile int sink;

/* Four branches with their own loops: distinct edges per choice. */
static void branch(unsigned which)
{
	for (int i = 0; i < 50; i++) {
		switch (which) {
		case 0:
			sink += i;
			break;
		case 1:
			sink ^= i * 3;
			break;
		case 2:
			if (i % 3 == 0)
				sink -= i;
			break;
		default:
			if (i % 5 == 0)
				sink += 7;
			else
				sink--;
		}
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10;
	int never = argc > 1000; /* false, but the compiler cannot know */
	static const char *const mode[] = {"no-op", "local", "vm"};
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("sdkcheck: mode %s\n", mode[cc_sdk_mode()]);

	cc_send_event("sdkcheck_start", "{\"rounds\":10}");
	for (int i = 0; i < rounds; i++) {
		CC_ALWAYS(i >= 0, "always holds", NULL);
		CC_ALWAYS(i < 5, "always breaks", "{\"phase\":\"loop\"}");
		CC_SOMETIMES(i == 3, "sometimes true", NULL);
		CC_SOMETIMES(i > 100, "sometimes never true", NULL);
		CC_ALWAYS_LT(i, 1000, "always lt holds", NULL);
		CC_ALWAYS_GE(i, 1, "always ge breaks", NULL);
		CC_ALWAYS_NE(i, -1, "always ne holds", NULL);
		CC_SOMETIMES_EQ(i, 5, "sometimes eq true", NULL);
		CC_SOMETIMES_GT(i, 99, "sometimes gt never true", NULL);
		const char *names[] = {"even", "odd"};
		bool some[] = {i % 2 == 0, i % 2 == 1};
		CC_ALWAYS_SOME(names, some, 2, "always some holds");
		bool all[] = {i > 0, i > 1};
		CC_SOMETIMES_ALL(names, all, 2, "sometimes all true");
	}
	CC_REACHABLE("reachable reached", NULL);
	CC_UNREACHABLE("unreachable reached", "{\"why\":\"on purpose\"}");
	if (never) {
		CC_REACHABLE("reachable never reached", NULL);
		CC_UNREACHABLE("unreachable not reached", NULL);
		CC_ALWAYS(true, "always never reached", NULL);
		CC_ALWAYS_OR_UNREACHABLE(false,
					 "always or unreachable, not "
					 "reached",
					 NULL);
	}
	cc_setup_complete("{\"node\":\"sdkcheck\"}");
	unsigned long long r1 = cc_get_random(), r2 = cc_get_random();
	unsigned c = (unsigned)cc_random_choice(4);
	printf("sdkcheck: random %016llx %016llx\n", r1, r2);
	printf("sdkcheck: choice %u\n", c);
	branch(c);
	cc_send_event("sdkcheck_done", NULL);
	cc_sdk_flush();
	printf("sdkcheck: done\n");
	return 0;
}
