/*
 * redisclient: the workload and the properties of the Redis replication
 * example (examples/redis-replication.json), against Debian's real
 * redis-server on the other nodes.
 *
 *   redisclient PRIMARY REPLICAS WRITES CHECK_AT_MS
 *
 * PRIMARY is the primary's host name (node0), REPLICAS how many replicas
 * it has (node1..nodeN).  The client waits until the primary sees every
 * replica, says setup_complete (faults may start), then makes WRITES
 * writes, each a SET followed by WAIT REPLICAS: a write every replica
 * acknowledged must be on every replica.  From CHECK_AT_MS (virtual
 * time since boot, after the schedule's heal) it reads every such key
 * back from each replica, waiting up to 5 s for it to catch up, and
 * asserts it found the value.  Values come from the SDK's randomness,
 * so the seed changes what is written.
 *
 * The Redis protocol (RESP) is small enough to speak here: commands as
 * arrays of bulk strings, replies parsed by their first byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "chaoscontrol.h"
#include "cluster.h"

#define PORT	    6379
#define MAX_WRITES  256
#define CATCH_UP_MS 5000

struct conn {
	int fd;
	char buf[4096];
	size_t len, at;
};

struct reply {
	char type; /* '+', '-', ':', '$', '*'; 0: the connection failed */
	long long num;
	char str[512];
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int dial(struct conn *c, const char *host)
{
	struct addrinfo hints = {.ai_family = AF_INET,
				 .ai_socktype = SOCK_STREAM},
			*res;
	c->len = c->at = 0;
	c->fd = -1;
	if (getaddrinfo(host, "6379", &hints, &res))
		return -1;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {2, 0}; /* virtual time: a dead peer times out */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = connect(c->fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc < 0) {
		close(c->fd);
		c->fd = -1;
	}
	return rc;
}

static void hang_up(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int getbyte(struct conn *c)
{
	if (c->at == c->len) {
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
		if (n <= 0)
			return -1;
		c->len = (size_t)n;
		c->at = 0;
	}
	return (unsigned char)c->buf[c->at++];
}

/* One CRLF-ended line into out (cut to cap), or -1. */
static int line(struct conn *c, char *out, size_t cap)
{
	size_t n = 0;
	for (int ch; (ch = getbyte(c)) >= 0;) {
		if (ch == '\n') {
			if (n && out[n - 1] == '\r')
				n--;
			out[n] = 0;
			return 0;
		}
		if (n + 1 < cap)
			out[n++] = (char)ch;
	}
	return -1;
}

/* Sends argv as a RESP array and reads one reply (arrays: skipped but
 * for their length; bulk strings: cut to the reply's buffer). */
static void call(struct conn *c, struct reply *r, int argc, const char **argv)
{
	char msg[2048];
	int n = snprintf(msg, sizeof(msg), "*%d\r\n", argc);
	for (int i = 0; i < argc && n < (int)sizeof(msg); i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n,
			      "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	char head[600];
	r->type = 0;
	if (c->fd < 0 || n >= (int)sizeof(msg) ||
	    write(c->fd, msg, (size_t)n) != n || line(c, head, sizeof(head))) {
		hang_up(c);
		return;
	}
	r->type = head[0];
	r->num = atoll(head + 1);
	snprintf(r->str, sizeof(r->str), "%.500s", head + 1);
	if (r->type != '$' || r->num < 0)
		return;
	size_t want = (size_t)r->num + 2, k = 0; /* data, CRLF */
	for (size_t i = 0; i < want; i++) {
		int ch = getbyte(c);
		if (ch < 0) {
			hang_up(c);
			r->type = 0;
			return;
		}
		if (i < (size_t)r->num && k + 1 < sizeof(r->str))
			r->str[k++] = (char)ch;
	}
	r->str[k] = 0;
}

/* The primary's count of connected replicas (INFO replication). */
static long connected_replicas(struct conn *c)
{
	struct reply r;
	const char *argv[] = {"INFO", "replication"};
	call(c, &r, 2, argv);
	const char *p = r.type == '$' ? strstr(r.str, "connected_slaves:") : 0;
	return p ? atol(p + strlen("connected_slaves:")) : -1;
}

static void wait_for_cluster(struct conn *c, const char *primary, long replicas)
{
	for (int tries = 0;; tries++) {
		if (c->fd < 0 && dial(c, primary) < 0) {
			sleep_ms(100);
			continue;
		}
		long n = connected_replicas(c);
		if (n >= replicas)
			return;
		if (tries % 20 == 0)
			printf("redisclient: %ld of %ld replicas connected\n",
			       n < 0 ? 0 : n, replicas);
		sleep_ms(100);
	}
}

struct write {
	char key[32], value[40];
	int acked; /* by every replica */
};

/* SET then WAIT: how many replicas acknowledged (-1: no answer). */
static long write_one(struct conn *c, const char *primary, struct write *w,
		      long replicas)
{
	struct reply r;
	if (c->fd < 0 && dial(c, primary) < 0)
		return -1;
	const char *set[] = {"SET", w->key, w->value};
	call(c, &r, 3, set);
	if (r.type != '+')
		return -1;
	char n[16], ms[16];
	snprintf(n, sizeof(n), "%ld", replicas);
	snprintf(ms, sizeof(ms), "%d", 500);
	const char *wait[] = {"WAIT", n, ms};
	call(c, &r, 3, wait);
	return r.type == ':' ? r.num : -1;
}

/* Whether a replica holds w, waiting for it to catch up. */
static int replica_has(const char *host, const struct write *w)
{
	struct conn c = {.fd = -1};
	int64_t until = cluster_now_ms() + CATCH_UP_MS;
	while (cluster_now_ms() < until) {
		if (c.fd < 0 && dial(&c, host) < 0) {
			sleep_ms(100);
			continue;
		}
		struct reply r;
		const char *get[] = {"GET", w->key};
		call(&c, &r, 2, get);
		if (r.type == '$' && !strcmp(r.str, w->value)) {
			hang_up(&c);
			return 1;
		}
		sleep_ms(100);
	}
	hang_up(&c);
	return 0;
}

static struct write writes[MAX_WRITES];

int main(int argc, char **argv)
{
	if (argc != 5 || atoi(argv[2]) < 1 || atoi(argv[3]) < 1 ||
	    atoi(argv[3]) > MAX_WRITES) {
		printf("redisclient: usage: redisclient PRIMARY REPLICAS "
		       "WRITES CHECK_AT_MS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *primary = argv[1];
	long replicas = atol(argv[2]), nwrites = atol(argv[3]);
	int64_t check_at = atoll(argv[4]);
	struct conn c = {.fd = -1};
	wait_for_cluster(&c, primary, replicas);
	printf("redisclient: %ld replicas in sync at t=%lld\n", replicas,
	       (long long)cluster_now_ms());
	cc_setup_complete("{\"workload\":\"redis replication\"}");
	long full = 0;
	for (long i = 0; i < nwrites; i++) {
		struct write *w = &writes[i];
		snprintf(w->key, sizeof(w->key), "key:%ld", i);
		snprintf(w->value, sizeof(w->value), "v%ld-%016llx", i,
			 (unsigned long long)cc_get_random());
		long acks = write_one(&c, primary, w, replicas);
		w->acked = acks >= replicas;
		full += w->acked;
		CC_SOMETIMES(w->acked, "every replica acknowledges a write",
			     NULL);
		CC_SOMETIMES(acks >= 0 && !w->acked,
			     "a write is acknowledged by fewer than all "
			     "replicas",
			     NULL);
		sleep_ms(20);
	}
	printf("redisclient: %ld writes, %ld acknowledged by every replica, "
	       "t=%lld\n",
	       nwrites, full, (long long)cluster_now_ms());
	while (cluster_now_ms() < check_at)
		sleep_ms(50);
	long missing = 0;
	for (long r = 1; r <= replicas; r++) {
		char host[32];
		snprintf(host, sizeof(host), "node%ld", r);
		for (long i = 0; i < nwrites; i++) {
			if (!writes[i].acked)
				continue;
			int ok = replica_has(host, &writes[i]);
			missing += !ok;
			CC_ALWAYS(ok,
				  "an acknowledged write is on every replica "
				  "after heal",
				  NULL);
		}
	}
	CC_REACHABLE("the client checked every replica", NULL);
	printf("redisclient: checked %ld replicas at t=%lld: %ld "
	       "acknowledged writes missing\n",
	       replicas, (long long)cluster_now_ms(), missing);
	hang_up(&c);
	return missing ? 1 : 0;
}
