/*
 * Workers: the threads a simulation round runs its VMs on.
 *
 * Item i always runs on thread i % n (KVM makes a vCPU pay a costly
 * hand-over each time a different thread runs it, and a fixed mapping
 * keeps that to once).  cc_workers_run() returns when every item is done:
 * rounds are barriers, and what happens inside one VM's slice depends on
 * nothing another thread does, so the result equals the sequential run.
 */
#ifndef CC_WORKERS_H
#define CC_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define CC_WORKERS_MAX 16u

struct cc_workers {
	unsigned n; /* threads; 0 = run everything on the caller */
	pthread_t thread[CC_WORKERS_MAX];
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long generation; /* bumped per batch */
	unsigned busy;		  /* threads still on the batch */
	bool quit;
	void (*fn)(void *ctx, size_t item);
	void *ctx;
	size_t items;
	struct cc_worker_arg {
		struct cc_workers *w;
		unsigned index;
	} arg[CC_WORKERS_MAX];
};

/* n threads (0 = none: cc_workers_run runs items in order itself). */
int cc_workers_start(struct cc_workers *w, unsigned n);
void cc_workers_stop(struct cc_workers *w);
/* fn(ctx, i) for i in [0, items); returns when all are done. */
void cc_workers_run(struct cc_workers *w, void (*fn)(void *ctx, size_t item),
		    void *ctx, size_t items);

#endif
