#include "workers.h"

#include <string.h>

static void *loop(void *p)
{
	struct cc_worker_arg *a = p;
	struct cc_workers *w = a->w;
	unsigned long seen = 0;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->quit && w->generation == seen)
			pthread_cond_wait(&w->go, &w->lock);
		if (w->quit)
			break;
		seen = w->generation;
		pthread_mutex_unlock(&w->lock);
		for (size_t i = a->index; i < w->items; i += w->n)
			w->fn(w->ctx, i);
		pthread_mutex_lock(&w->lock);
		if (--w->busy == 0)
			pthread_cond_signal(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int cc_workers_start(struct cc_workers *w, unsigned n)
{
	memset(w, 0, sizeof(*w));
	if (n > CC_WORKERS_MAX)
		n = CC_WORKERS_MAX;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->go, NULL);
	pthread_cond_init(&w->done, NULL);
	for (unsigned i = 0; i < n; i++) {
		w->arg[i] = (struct cc_worker_arg){w, i};
		if (pthread_create(&w->thread[i], NULL, loop, &w->arg[i])) {
			cc_workers_stop(w);
			return -1;
		}
		w->n = i + 1;
	}
	return 0;
}

void cc_workers_stop(struct cc_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->go);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n; i++)
		pthread_join(w->thread[i], NULL);
	w->n = 0;
	pthread_cond_destroy(&w->go);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
}

void cc_workers_run(struct cc_workers *w, void (*fn)(void *ctx, size_t item),
		    void *ctx, size_t items)
{
	if (w->n == 0) {
		for (size_t i = 0; i < items; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->ctx = ctx;
	w->items = items;
	w->busy = w->n;
	w->generation++;
	pthread_cond_broadcast(&w->go);
	while (w->busy)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}
