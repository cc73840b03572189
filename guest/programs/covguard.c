/*
 * covguard: built by clang with -fsanitize-coverage=trace-pc-guard (the
 * SanCov mode GCC lacks), so the SDK's guard hooks fill the coverage
 * bitmap; branches on cc_random_choice like sdkcheck.
 */
#include <stdio.h>

#include "chaoscontrol.h"

static volatile int sink;

static int work(unsigned which)
{
	int acc = 0;
	for (int i = 0; i < 100; i++) {
		if (which == 0 && i % 2)
			acc += i;
		else if (which == 1 && i % 3)
			acc -= i;
		else if (i % 7 == 0)
			acc ^= i;
	}
	return acc;
}

int main(void)
{
	unsigned c = (unsigned)cc_random_choice(3);
	sink = work(c);
	CC_REACHABLE("covguard ran", NULL);
	cc_sdk_flush();
	printf("covguard: choice %u\n", c);
	return 0;
}
