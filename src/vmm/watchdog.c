#define _GNU_SOURCE
#include "watchdog.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define KICK_SIGNAL SIGUSR1

static __thread struct kvm_run *tls_run;

/* Runs on the vCPU thread: if the signal lands just before KVM_RUN,
 * immediate_exit makes the ioctl return at once instead of losing it. */
static void on_kick(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *loop(void *arg)
{
	struct cc_watchdog *w = arg;
	uint64_t last = atomic_load(&w->exits);
	unsigned stalled_ms = 0, since_sample = 0, since_probe = 0;
	while (!atomic_load(&w->stop)) {
		sleep_ms(w->period_ms);
		int kick = 0;
		uint64_t now = atomic_load(&w->exits);
		if (now != last || !atomic_load(&w->in_run))
			stalled_ms = 0;
		else
			stalled_ms += w->period_ms;
		last = now;
		if (w->timeout_ms && stalled_ms >= w->timeout_ms) {
			kick |= CC_KICK_WATCHDOG;
			stalled_ms = 0;
		}
		since_probe = stalled_ms ? since_probe + w->period_ms : 0;
		if (w->user_ms && stalled_ms >= w->user_ms / 2 &&
		    since_probe >= w->user_ms / 2) {
			kick |= CC_KICK_PROBE;
			since_probe = 0;
		}
		since_sample += w->period_ms;
		if (w->sample_ms && since_sample >= w->sample_ms) {
			kick |= CC_KICK_SAMPLE;
			since_sample = 0;
		}
		if (kick && atomic_load(&w->in_run)) {
			atomic_fetch_or(&w->kick, kick);
			pthread_kill(atomic_load(&w->target), KICK_SIGNAL);
		}
	}
	return NULL;
}

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

int cc_watchdog_start(struct cc_watchdog *w, struct kvm_run *run,
		      unsigned timeout_ms, unsigned user_ms, unsigned sample_ms,
		      struct cc_err *err)
{
	tls_run = run; /* this thread runs the vCPU from here on */
	/* A user bound at or past the kernel's says nothing new. */
	if (timeout_ms && user_ms >= timeout_ms)
		user_ms = 0;
	if (w->started && w->timeout_ms == timeout_ms &&
	    w->user_ms == user_ms && w->sample_ms == sample_ms) {
		atomic_store(&w->target, pthread_self());
		return 0;
	}
	cc_watchdog_stop(w);
	memset(w, 0, sizeof(*w));
	w->timeout_ms = timeout_ms;
	w->sample_ms = sample_ms;
	w->user_ms = user_ms;
	if (!timeout_ms && !sample_ms && !user_ms)
		return 0;
	unsigned p = gcd(gcd(timeout_ms, sample_ms), user_ms / 2);
	w->period_ms = p > 50 ? 50 : (p ? p : 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick; /* no SA_RESTART: KVM_RUN must see EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		return cc_err_errno(err, "sigaction");
	atomic_store(&w->target, pthread_self());
	if (pthread_create(&w->thread, NULL, loop, w) != 0)
		return cc_err_set(err, "cannot start the watchdog thread");
	w->started = true;
	return 0;
}

void cc_watchdog_stop(struct cc_watchdog *w)
{
	if (!w->started)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	w->started = false;
}
