/*
 * pingpong: the cluster's echo pair (or star), over UDP and TCP with the
 * ordinary socket API.
 *
 *   pingpong [NODES [PERIOD_MS [ROUNDS]]]     defaults 2, 100, 0 (forever)
 *
 * Every node serves port 7 (UDP and TCP): "P <round> <t>" is answered
 * with "R <round> <its clock in ms>".  Node 0 is the client: each period
 * it pings every peer over both, then prints one line per round:
 *
 *   pingpong: round 12 t=5230 1:udp+tcp+ skew=+3 rtt=2 2:udp-tcp- skew=?
 *
 * where + is an answer within the round, - none, skew the peer's clock
 * minus ours when its TCP answer arrived and rtt the TCP round trip (ms;
 * ? when none).  So
 * partitions, loss, pauses, kills, restarts and clock faults are all
 * visible from inside the guests.  Each node prints "pingpong: node I of
 * N up at t=T" when it starts (again after a restart).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "chaoscontrol.h"
#include "cluster.h"

#define PORT	  7
#define MAX_PEERS 16
#define MAX_CONNS 16

struct peer {
	int fd;		 /* client TCP connection, -1 = none */
	bool connected;
	bool udp_ok, tcp_ok;
	int64_t skew, rtt;
	char buf[128];
	size_t len;
};

struct conn { /* server side */
	int fd;
	char buf[128];
	size_t len;
};

static unsigned self, nodes;
static int udp_fd, listen_fd;
static struct peer peer[MAX_PEERS];
static struct conn conns[MAX_CONNS];
static long round_no;
static int64_t round_start; /* our clock when this round's pings left */

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int bound(int type)
{
	int fd = socket(AF_INET, type, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		printf("pingpong: bind: %s\n", strerror(errno));
	if (type == SOCK_STREAM)
		listen(fd, 8);
	nonblock(fd);
	return fd;
}

/* "P r t" -> "R r now" into out. */
static int answer(const char *in, char *out, size_t len, const char *end)
{
	long r;
	long long t;
	if (sscanf(in, "P %ld %lld", &r, &t) != 2)
		return -1;
	return snprintf(out, len, "R %ld %lld%s", r,
			(long long)cluster_now_ms(), end);
}

static void serve_udp(void)
{
	char in[128], out[128];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	while ((n = recvfrom(udp_fd, in, sizeof(in) - 1, 0,
			     (struct sockaddr *)&from, &fl)) > 0) {
		in[n] = 0;
		int m = answer(in, out, sizeof(out), "");
		if (m > 0) {
			sendto(udp_fd, out, (size_t)m, 0,
			       (struct sockaddr *)&from, fl);
			continue;
		}
		long r;
		long long t;
		unsigned p = ntohl(from.sin_addr.s_addr) - cluster_ip(0);
		if (self == 0 && sscanf(in, "R %ld %lld", &r, &t) == 2 &&
		    p < nodes) {
			CC_ALWAYS(r <= round_no, "udp answers never come from "
				  "a later round", NULL);
			if (r == round_no)
				peer[p].udp_ok = true;
		}
		fl = sizeof(from);
	}
}

/* Lines in b->buf: each handled by fn; the rest kept. */
static void lines(char *buf, size_t *len, void (*fn)(void *, char *),
		  void *ctx)
{
	char *nl;
	while ((nl = memchr(buf, '\n', *len))) {
		*nl = 0;
		fn(ctx, buf);
		size_t used = (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len - used);
		*len -= used;
	}
	if (*len == 128)
		*len = 0; /* garbage without newlines: drop it */
}

static void conn_line(void *ctx, char *line)
{
	struct conn *c = ctx;
	char out[128];
	int m = answer(line, out, sizeof(out), "\n");
	if (m > 0 && send(c->fd, out, (size_t)m, MSG_NOSIGNAL) < 0)
		printf("pingpong: answer: %s\n", strerror(errno));
}

static void serve_conn(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (n > 0) {
		c->len += (size_t)n;
		lines(c->buf, &c->len, conn_line, c);
	}
}

static void accept_conns(void)
{
	int fd;
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
		nonblock(fd);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
			   sizeof(one));
		unsigned i = 0;
		while (i < MAX_CONNS && conns[i].fd >= 0)
			i++;
		if (i == MAX_CONNS) {
			close(fd);
			continue;
		}
		conns[i].fd = fd;
		conns[i].len = 0;
	}
}

static void drop_peer(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->connected = false;
	p->len = 0;
}

static void peer_line(void *ctx, char *line)
{
	struct peer *p = ctx;
	long r;
	long long t;
	if (sscanf(line, "R %ld %lld", &r, &t) != 2)
		return;
	CC_ALWAYS(r <= round_no, "tcp answers never come from a later round",
		  NULL);
	if (r == round_no) {
		p->tcp_ok = true;
		p->rtt = cluster_now_ms() - round_start;
		p->skew = t - cluster_now_ms();
	}
}

static void read_peer(struct peer *p)
{
	if (!p->connected) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			drop_peer(p);
			return;
		}
		p->connected = true;
		return;
	}
	ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		drop_peer(p);
		return;
	}
	if (n > 0) {
		p->len += (size_t)n;
		lines(p->buf, &p->len, peer_line, p);
	}
}

static void connect_peer(unsigned i)
{
	struct peer *p = &peer[i];
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	nonblock(p->fd);
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	struct sockaddr_in a = cluster_addr(i, PORT);
	if (connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS)
		drop_peer(p);
}

static void report_round(void)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "pingpong: round %ld t=%lld",
			 round_no, (long long)cluster_now_ms());
	bool all = true;
	for (unsigned i = 1; i < nodes && n < 400; i++) {
		struct peer *p = &peer[i];
		all = all && p->udp_ok && p->tcp_ok;
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " %u:udp%ctcp%c skew=", i, p->udp_ok ? '+' : '-',
			      p->tcp_ok ? '+' : '-');
		n += p->tcp_ok ? snprintf(line + n, sizeof(line) - (size_t)n,
					  "%+lld rtt=%lld", (long long)p->skew,
					  (long long)p->rtt)
			       : snprintf(line + n, sizeof(line) - (size_t)n,
					  "?");
	}
	puts(line);
	CC_SOMETIMES(all, "every peer answered a round", NULL);
	CC_SOMETIMES(!all, "a ping went unanswered", NULL);
	static bool setup;
	if (all && !setup) {
		setup = true;
		cc_setup_complete("{\"role\":\"client\"}");
	}
}

static void start_round(void)
{
	round_no++;
	round_start = cluster_now_ms();
	char msg[64];
	int m = snprintf(msg, sizeof(msg), "P %ld %lld", round_no,
			 (long long)cluster_now_ms());
	for (unsigned i = 1; i < nodes; i++) {
		struct peer *p = &peer[i];
		p->udp_ok = p->tcp_ok = false;
		struct sockaddr_in a = cluster_addr(i, PORT);
		sendto(udp_fd, msg, (size_t)m, 0, (struct sockaddr *)&a,
		       sizeof(a));
		if (p->fd < 0)
			connect_peer(i);
		else if (p->connected)
			dprintf(p->fd, "%s\n", msg);
	}
}

/* One poll: every socket that has something to say is served. */
static void poll_once(int timeout_ms)
{
	struct pollfd pf[2 + MAX_CONNS + MAX_PEERS];
	void *who[2 + MAX_CONNS + MAX_PEERS];
	nfds_t n = 0;
	pf[n] = (struct pollfd){udp_fd, POLLIN, 0};
	who[n++] = NULL;
	pf[n] = (struct pollfd){listen_fd, POLLIN, 0};
	who[n++] = NULL;
	for (unsigned i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0) {
			pf[n] = (struct pollfd){conns[i].fd, POLLIN, 0};
			who[n++] = &conns[i];
		}
	for (unsigned i = 1; self == 0 && i < nodes; i++)
		if (peer[i].fd >= 0) {
			short ev = peer[i].connected ? POLLIN : POLLOUT;
			pf[n] = (struct pollfd){peer[i].fd, ev, 0};
			who[n++] = &peer[i];
		}
	if (poll(pf, n, timeout_ms) <= 0)
		return;
	if (pf[0].revents)
		serve_udp();
	if (pf[1].revents)
		accept_conns();
	for (nfds_t i = 2; i < n; i++) {
		if (!pf[i].revents)
			continue;
		if ((char *)who[i] >= (char *)conns &&
		    (char *)who[i] < (char *)(conns + MAX_CONNS))
			serve_conn(who[i]);
		else
			read_peer(who[i]);
	}
}

int main(int argc, char **argv)
{
	nodes = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
	int period = argc > 2 ? atoi(argv[2]) : 100;
	long rounds = argc > 3 ? atol(argv[3]) : 0;
	if (nodes < 1 || nodes > MAX_PEERS || period < 1) {
		printf("pingpong: usage: pingpong [NODES [PERIOD_MS "
		       "[ROUNDS]]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	self = cluster_self();
	for (unsigned i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	for (unsigned i = 0; i < MAX_PEERS; i++)
		peer[i].fd = -1;
	udp_fd = bound(SOCK_DGRAM);
	listen_fd = bound(SOCK_STREAM);
	printf("pingpong: node %u of %u up at t=%lld\n", self, nodes,
	       (long long)cluster_now_ms());
	if (self != 0)
		cc_setup_complete("{\"role\":\"server\"}");
	int64_t next = cluster_now_ms();
	for (;;) {
		int64_t now = cluster_now_ms();
		if (self == 0 && now >= next) {
			if (round_no)
				report_round();
			if (rounds && round_no >= rounds)
				return 0;
			start_round();
			next = now + period;
		}
		poll_once(self == 0 ? (int)(next - now) : -1);
	}
}
