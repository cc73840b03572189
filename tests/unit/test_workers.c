/*
 * Workers: every item runs exactly once per batch, always on the same
 * thread (item i on thread i % n), and a batch is a barrier.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "sim/workers.h"

#define ITEMS 7

struct batch {
	atomic_int runs[ITEMS];
	pthread_t thread[ITEMS];
	int value[ITEMS];
};

static void work(void *ctx, size_t i)
{
	struct batch *b = ctx;
	atomic_fetch_add(&b->runs[i], 1);
	b->thread[i] = pthread_self();
	b->value[i] = (int)(i * i);
}

Test(workers, every_item_once_on_a_fixed_thread)
{
	for (unsigned n = 0; n <= 3; n++) {
		struct cc_workers w;
		cr_assert_eq(cc_workers_start(&w, n), 0);
		static struct batch first, b;
		memset(&first, 0, sizeof(first));
		cc_workers_run(&w, work, &first, ITEMS);
		for (int round = 0; round < 50; round++) {
			memset(&b, 0, sizeof(b));
			cc_workers_run(&w, work, &b, ITEMS);
			for (int i = 0; i < ITEMS; i++) {
				cr_assert_eq(atomic_load(&b.runs[i]), 1,
					     "n=%u item %d", n, i);
				cr_assert_eq(b.value[i], i * i);
				cr_assert(pthread_equal(b.thread[i],
							first.thread[i]),
					  "n=%u: item %d moved threads", n, i);
			}
		}
		/* Items sharing i % n share a thread; n = 0 runs inline. */
		for (int i = 0; n > 1 && i + (int)n < ITEMS; i++)
			cr_assert(pthread_equal(first.thread[i],
						first.thread[i + n]));
		if (n == 0)
			cr_assert(
				pthread_equal(first.thread[0], pthread_self()));
		cc_workers_stop(&w);
	}
}
