/*
 * kvstore: a small replicated key-value store, the cluster's system under
 * test.  Node 0 leads, the others replicate over TCP port 7000.
 *
 *   kvstore [NODES [WRITE_MS]]          defaults 3 and 20
 *
 * The leader writes key (random % 16) := random value every WRITE_MS,
 * sends "P seq key value" to every synced replica and counts a write
 * committed once a majority (itself included) holds it.  A replica that
 * (re)connects says "H" and gets the whole state ("S key value seq"
 * lines, then "E seq") before new writes.  Every second the leader prints a
 * status line; every 10th write reads one key back from a replica
 * ("G key" -> "V key value seq").  Set-up is complete (faults may start)
 * once every replica is synced.
 *
 * Properties (SDK):
 *   always     a replica applies writes in sequence, with no gap
 *   always     a value read back from a replica is the one the leader
 *              wrote with that sequence number
 *   always     some write commits within 1 s of the last one (liveness:
 *              partitions, kills and pauses that cut the leader from a
 *              majority long enough break it)
 *   sometimes  every replica acknowledges a write
 *   reachable  the leader commits a write
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "chaoscontrol.h"
#include "cluster.h"

#define PORT	  7000
#define KEYS	  16
#define MAX_NODES 16
#define BUF	  4096
#define LIVENESS_MS 1000

struct entry {
	uint64_t value, seq;
};

struct link {
	int fd;
	bool connected, synced;
	uint64_t acked; /* highest seq acknowledged */
	char buf[BUF];
	size_t len;
	int64_t next_try;
};

static unsigned self, nodes;
static struct entry kv[KEYS];
static uint64_t seq, committed;
static int64_t last_commit;
static struct link link_[MAX_NODES]; /* leader: one per replica */
static struct link up;		     /* replica: the leader's connection */
static int listen_fd = -1;

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void drop(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->connected = l->synced = false;
	l->len = 0;
	l->acked = 0;
}

static void say(struct link *l, const char *fmt, unsigned long long a,
		unsigned long long b, unsigned long long c)
{
	char m[96];
	int n = snprintf(m, sizeof(m), fmt, a, b, c);
	if (send(l->fd, m, (size_t)n, MSG_NOSIGNAL) != n)
		drop(l);
}

/* Reads what arrived; hands complete lines to fn.  False when closed. */
static bool pump(struct link *l, void (*fn)(struct link *, char *))
{
	ssize_t n = recv(l->fd, l->buf + l->len, BUF - l->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		drop(l);
		return false;
	}
	if (n < 0)
		return true;
	l->len += (size_t)n;
	char *nl;
	while (l->fd >= 0 && (nl = memchr(l->buf, '\n', l->len))) {
		*nl = 0;
		fn(l, l->buf);
		if (l->fd < 0)
			return false;
		size_t used = (size_t)(nl + 1 - l->buf);
		memmove(l->buf, nl + 1, l->len - used);
		l->len -= used;
	}
	if (l->len == BUF)
		drop(l);
	return l->fd >= 0;
}

/* --- replica ------------------------------------------------------------ */

static uint64_t applied;

static void replica_line(struct link *l, char *line)
{
	unsigned long long s, k, v;
	if (sscanf(line, "P %llu %llu %llu", &s, &k, &v) == 3 && k < KEYS) {
		CC_ALWAYS(s == applied + 1, "a replica applies writes in "
			  "sequence, with no gap", NULL);
		kv[k] = (struct entry){v, s};
		applied = s;
		say(l, "A %llu\n", s, 0, 0);
	} else if (sscanf(line, "S %llu %llu %llu", &k, &v, &s) == 3 &&
		   k < KEYS) {
		kv[k] = (struct entry){v, s};
	} else if (sscanf(line, "E %llu", &s) == 1) {
		applied = s;
		static bool setup;
		if (!setup) {
			setup = true;
			cc_setup_complete("{\"role\":\"replica\"}");
		}
		say(l, "A %llu\n", s, 0, 0);
	} else if (sscanf(line, "G %llu", &k) == 1 && k < KEYS) {
		say(l, "V %llu %llu %llu\n", k, kv[k].value, kv[k].seq);
	}
}

static void replica(void)
{
	up.fd = -1;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(listen_fd, 4) < 0)
		printf("kvstore: listen: %s\n", strerror(errno));
	for (;;) {
		struct pollfd pf[2] = {{listen_fd, POLLIN, 0}, {up.fd, POLLIN, 0}};
		if (poll(pf, up.fd >= 0 ? 2 : 1, -1) <= 0)
			continue;
		if (pf[0].revents) {
			int fd = accept(listen_fd, NULL, NULL);
			if (fd >= 0) { /* a new leader connection wins */
				drop(&up);
				up.fd = fd;
				nonblock(fd);
				up.connected = true;
				say(&up, "H %llu\n", applied, 0, 0);
			}
		}
		if (up.fd >= 0 && pf[1].revents)
			pump(&up, replica_line);
	}
}

/* --- leader --------------------------------------------------------------- */

/* Committed: the highest seq a majority (the leader included) holds. */
static void commit_check(void)
{
	uint64_t held[MAX_NODES];
	held[0] = seq;
	for (unsigned i = 1; i < nodes; i++)
		held[i] = link_[i].synced ? link_[i].acked : 0;
	for (unsigned i = 1; i < nodes; i++) /* descending */
		for (unsigned j = i; j > 0 && held[j] > held[j - 1]; j--) {
			uint64_t t = held[j];
			held[j] = held[j - 1];
			held[j - 1] = t;
		}
	uint64_t c = held[nodes / 2];
	if (c <= committed)
		return;
	committed = c;
	last_commit = cluster_now_ms();
	CC_REACHABLE("the leader commits a write", NULL);
}

/* After each acknowledgement: does every replica hold all that is
 * committed? */
static void all_check(void)
{
	bool all = nodes > 1 && committed > 0;
	for (unsigned i = 1; i < nodes; i++)
		all = all && link_[i].synced && link_[i].acked >= committed;
	CC_SOMETIMES(all, "every replica acknowledges a write", NULL);
}

static void read_back(void);
static void setup_check(void);

static void leader_line(struct link *l, char *line)
{
	unsigned long long s, k, v;
	if (sscanf(line, "A %llu", &s) == 1) {
		if (s > l->acked)
			l->acked = s;
		l->synced = true;
		commit_check();
		all_check();
		setup_check();
	} else if (sscanf(line, "H %llu", &s) == 1) {
		for (unsigned i = 0; i < KEYS; i++)
			if (kv[i].seq)
				say(l, "S %llu %llu %llu\n", i, kv[i].value,
				    kv[i].seq);
		say(l, "E %llu\n", seq, 0, 0);
	} else if (sscanf(line, "V %llu %llu %llu", &k, &v, &s) == 3 &&
		   k < KEYS) {
		/* The replica may lag, but what it has must be what the
		 * leader wrote with that sequence number. */
		bool ok = s == 0 || s < kv[k].seq ||
			  (s == kv[k].seq && v == kv[k].value);
		CC_ALWAYS(ok, "a value read back from a replica is the one "
			  "the leader wrote", NULL);
	}
}

static void leader_connect(unsigned i, int64_t now)
{
	struct link *l = &link_[i];
	if (l->fd >= 0 || now < l->next_try)
		return;
	l->next_try = now + 100;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	nonblock(l->fd);
	struct sockaddr_in a = cluster_addr(i, PORT);
	if (connect(l->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS)
		drop(l);
}

static void leader_write(void)
{
	uint64_t k = cc_get_random() % KEYS, v = cc_get_random();
	kv[k] = (struct entry){v, ++seq};
	CC_ALWAYS(cluster_now_ms() - last_commit < LIVENESS_MS,
		  "some write commits within 1 s of the last one", NULL);
	for (unsigned i = 1; i < nodes; i++)
		if (link_[i].synced)
			say(&link_[i], "P %llu %llu %llu\n", seq, k, v);
	commit_check();
	read_back();
}

/* Set-up is complete once every replica is synced: faults may start. */
static void setup_check(void)
{
	static bool setup;
	unsigned synced = 0;
	for (unsigned i = 1; i < nodes; i++)
		synced += link_[i].synced;
	if (!setup && synced == nodes - 1) {
		setup = true;
		cc_setup_complete("{\"role\":\"leader\"}");
	}
}

static void leader_status(int64_t now)
{
	unsigned synced = 0;
	for (unsigned i = 1; i < nodes; i++)
		synced += link_[i].synced;
	printf("kvstore: t=%lld seq=%llu committed=%llu replicas=%u/%u\n",
	       (long long)now, (unsigned long long)seq,
	       (unsigned long long)committed, synced, nodes - 1);
}

/* Every 10th write reads one key back from the next synced replica. */
static void read_back(void)
{
	static unsigned next = 1;
	if (seq % 10 || nodes < 2)
		return;
	for (unsigned k = 0; k < nodes - 1; k++) {
		unsigned i = next;
		next = next + 1 < nodes ? next + 1 : 1;
		if (link_[i].synced) {
			say(&link_[i], "G %llu\n", cc_get_random() % KEYS, 0,
			    0);
			return;
		}
	}
}

static void leader_poll(int timeout)
{
	struct pollfd pf[MAX_NODES];
	for (unsigned i = 1; i < nodes; i++) {
		struct link *l = &link_[i];
		pf[i] = (struct pollfd){l->fd, l->connected ? POLLIN : POLLOUT,
					0};
	}
	if (poll(pf + 1, nodes - 1, timeout) <= 0)
		return;
	for (unsigned i = 1; i < nodes; i++) {
		struct link *l = &link_[i];
		if (l->fd < 0 || !pf[i].revents)
			continue;
		if (!l->connected) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err)
				drop(l);
			else
				l->connected = true;
			continue;
		}
		pump(l, leader_line);
	}
}

static void leader(int write_ms)
{
	for (unsigned i = 0; i < MAX_NODES; i++)
		link_[i].fd = -1;
	int64_t now = cluster_now_ms(), next_write = now, next_status = now;
	last_commit = now;
	for (;;) {
		now = cluster_now_ms();
		for (unsigned i = 1; i < nodes; i++)
			leader_connect(i, now);
		if (now >= next_write) {
			leader_write();
			next_write = now + write_ms;
		}
		if (now >= next_status) {
			leader_status(now);
			next_status = now + 1000;
		}
		int64_t wake = next_write < next_status ? next_write
							: next_status;
		leader_poll((int)(wake - now > 100 ? 100 : wake - now));
	}
}

int main(int argc, char **argv)
{
	nodes = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
	int write_ms = argc > 2 ? atoi(argv[2]) : 20;
	if (nodes < 1 || nodes > MAX_NODES || write_ms < 1) {
		printf("kvstore: usage: kvstore [NODES [WRITE_MS]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	self = cluster_self();
	printf("kvstore: node %u of %u up (%s)\n", self, nodes,
	       self ? "replica" : "leader");
	if (self)
		replica();
	else
		leader(write_ms);
	return 0;
}
