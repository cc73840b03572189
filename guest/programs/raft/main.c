/*
 * raft: the Raft core (raft.c) as a cluster node, with a client.
 *
 *   raft NODES [--bug NAME] [--client-ms MS] [--dir DIR]
 *
 * Every node runs the same command line (init names it node<i>).  Nodes
 * talk UDP on port 7100, one struct raft_msg per datagram; the term, vote
 * and log live in DIR (default /data, the data disk) and are fsynced
 * before any message of the step that changed them goes out, so a
 * process_restart or process_crash finds what the node promised.
 *
 * The client (every node has one) writes a fresh command every MS
 * (default 100) to the node it believes leads, and is answered once the
 * leader has applied it; now and then it asks a random node what it
 * applied at the index of an acknowledged write.  The properties
 * (docs/RAFT.md): the four of the Raft paper, checked by every node on
 * what it holds and hears (raft.h), and the client's two.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "../cluster.h"
#include "chaoscontrol.h"
#include "raft.h"
#include "store.h"

#define PORT	     7100
#define FAIL_REPORTS 16 /* failures sent per property; the rest counted */
#define ACKED_MAX    1024
#define CLIENT_WAIT  600 /* ms before a write is given up */

/* Client messages share the port; their types do not overlap Raft's. */
enum { CLIENT_WRITE = 100, CLIENT_WROTE, CLIENT_READ, CLIENT_READ_REPLY };
struct client_msg {
	uint32_t type, from, ok, leader; /* leader: a hint, or n */
	uint64_t seq, cmd, index;
};

static unsigned self, nodes;
static struct raft node;
static int sock = -1;
static int64_t now;
static uint64_t *applied_cmd; /* index -> command, as applied here */

static void io_persist(void *ctx, const struct raft *r, uint64_t from)
{
	(void)ctx;
	store_persist(r, from);
}

/* ---- the SDK ----------------------------------------------------------- */

/* One site per property, so each is reported (and must be hit) by name;
 * the first pass and the first FAIL_REPORTS failures go out, the rest
 * are dropped (the reported failures also go to the console). */
static void io_check(void *ctx, enum raft_prop p, bool ok, const char *why)
{
	(void)ctx;
	static unsigned passes[RAFT_PROPS], fails[RAFT_PROPS];
	if (ok ? passes[p]++ : fails[p]++ >= FAIL_REPORTS)
		return;
	char d[192];
	snprintf(d, sizeof(d),
		 "{\"node\":%u,\"term\":%llu,\"why\":\"%s\",\"len\":%llu,"
		 "\"commit\":%llu}",
		 self, (unsigned long long)node.term, ok ? "" : why,
		 (unsigned long long)node.len, (unsigned long long)node.commit);
	if (!ok)
		printf("raft: %lld ms: node %u: %s violated: %s\n",
		       (long long)now, self, raft_prop_name(p), why);
	switch (p) {
	case RAFT_ELECTION_SAFETY:
		CC_ALWAYS(ok, "Election Safety: at most one leader per term",
			  d);
		break;
	case RAFT_LOG_MATCHING:
		CC_ALWAYS(ok, "Log Matching: same index and term, same prefix",
			  d);
		break;
	case RAFT_LEADER_COMPLETENESS:
		CC_ALWAYS(ok,
			  "Leader Completeness: a leader has every committed "
			  "entry",
			  d);
		break;
	case RAFT_STATE_MACHINE_SAFETY:
		CC_ALWAYS(ok, "State Machine Safety: one command per index", d);
		break;
	case RAFT_PROPS:
		break;
	}
}

static void io_goal(void *ctx, enum raft_goal g)
{
	(void)ctx;
	static bool said[RAFT_GOALS];
	if (said[g])
		return;
	said[g] = true;
	printf("raft: %lld ms: node %u: %s (term %llu)\n", (long long)now, self,
	       raft_goal_name(g), (unsigned long long)node.term);
	switch (g) {
	case RAFT_GOAL_ELECTED:
		CC_SOMETIMES(true, "a leader is elected", NULL);
		break;
	case RAFT_GOAL_LEADER_CHANGE:
		CC_SOMETIMES(true, "a node follows a new leader", NULL);
		break;
	case RAFT_GOAL_TRUNCATED:
		CC_SOMETIMES(true, "a follower truncates a conflicting suffix",
			     NULL);
		break;
	case RAFT_GOAL_HEAL_COMMIT:
		CC_SOMETIMES(true,
			     "a node applies again after a partition heals",
			     NULL);
		break;
	case RAFT_GOAL_RECOVERED:
		CC_SOMETIMES(true,
			     "a restarted node applies entries from its disk",
			     NULL);
		break;
	case RAFT_GOALS:
		break;
	}
}

static uint64_t io_random(void *ctx, uint64_t n)
{
	(void)ctx;
	return cc_random_choice(n);
}

/* ---- network ----------------------------------------------------------- */

/* Every datagram ends in an FNV-1a sum of the rest: the fabric's
 * packet_corruption flips a byte, and a node must not take a changed
 * term or entry for a real one (UDP's own checksum is optional). */
static uint64_t wire_sum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void send_to(unsigned to, const void *m, size_t len)
{
	unsigned char buf[sizeof(struct raft_msg) + 8];
	if (len > sizeof(struct raft_msg))
		return;
	memcpy(buf, m, len);
	uint64_t sum = wire_sum(m, len);
	memcpy(buf + len, &sum, 8);
	struct sockaddr_in a = cluster_addr(to, PORT);
	sendto(sock, buf, len + 8, 0, (struct sockaddr *)&a, sizeof(a));
}

static void io_send(void *ctx, const struct raft_msg *m)
{
	(void)ctx;
	send_to(m->to, m, sizeof(*m));
}

/* ---- the client and the state machine --------------------------------- */

static struct {
	uint64_t seq, cmd, index; /* the write in flight (cmd 0: none) */
	int64_t sent_at, next_at;
	unsigned leader; /* where writes go */
	struct {
		uint64_t index, cmd;
	} acked[ACKED_MAX];
	unsigned nacked;
	uint64_t last_index; /* of the last acknowledged write */
} cl;

/* Writes the leader waits to apply before answering: one per client. */
static struct {
	uint64_t seq, cmd, index;
} pending[RAFT_MAX_NODES];

static void io_apply(void *ctx, uint64_t index, uint64_t cmd)
{
	(void)ctx;
	applied_cmd[index] = cmd;
	if (index == 1 || index % 50 == 0)
		printf("raft: %lld ms: node %u applied %llu (term %llu)\n",
		       (long long)now, self, (unsigned long long)index,
		       (unsigned long long)node.term);
	static bool setup;
	if (!setup) {
		setup = true;
		cc_setup_complete("{\"raft\":\"a first entry applied\"}");
	}
	for (unsigned c = 0; c < nodes; c++) {
		if (pending[c].index != index)
			continue;
		struct client_msg r = {
			CLIENT_WROTE, self,	      cmd == pending[c].cmd,
			self,	      pending[c].seq, cmd,
			index};
		send_to(c, &r, sizeof(r));
		pending[c].index = 0;
	}
}

static void client_send(void)
{
	struct client_msg m = {CLIENT_WRITE, self, 0, 0, cl.seq, cl.cmd, 0};
	if (node.role == RAFT_LEADER)
		cl.leader = self; /* a client next to the leader writes there */
	send_to(cl.leader, &m, sizeof(m));
	cl.sent_at = now;
}

static void client_read(void);

static void client_tick(int ms)
{
	if (cl.cmd && now - cl.sent_at > CLIENT_WAIT) {
		cl.cmd = 0; /* given up: it may still commit, unacknowledged */
		cl.leader = (cl.leader + 1) % nodes;
	}
	if (!cl.cmd && now >= cl.next_at) {
		cl.seq++;
		cl.cmd = (uint64_t)self << 56 | (cl.seq & 0xffffff) << 32 |
			 (cc_get_random() & 0xffffffff);
		client_send();
		client_read();
		cl.next_at = now + ms;
	}
}

/* Asks a random node what it applied where an acknowledged write went. */
static void client_read(void)
{
	if (!cl.nacked)
		return;
	unsigned k = (unsigned)cc_random_choice(cl.nacked);
	struct client_msg m = {CLIENT_READ,	 self, 0, 0, k, cl.acked[k].cmd,
			       cl.acked[k].index};
	send_to((unsigned)cc_random_choice(nodes), &m, sizeof(m));
}

static void on_client(const struct client_msg *m)
{
	if (m->from >= nodes)
		return;
	if (m->type == CLIENT_WRITE) {
		struct client_msg r = {CLIENT_WROTE, self,   0, 0,
				       m->seq,	     m->cmd, 0};
		uint64_t idx = 0;
		if (node.role == RAFT_LEADER)
			idx = raft_propose(&node, m->cmd, now);
		if (!idx) { /* not the leader: say who is */
			r.leader = node.leader >= 0 ? (unsigned)node.leader
						    : nodes;
			send_to(m->from, &r, sizeof(r));
			return;
		}
		pending[m->from].seq = m->seq;
		pending[m->from].cmd = m->cmd;
		pending[m->from].index = idx;
		if (node.applied >= idx) /* committed at once (one node) */
			io_apply(NULL, idx, applied_cmd[idx]);
	} else if (m->type == CLIENT_WROTE) {
		if (!cl.cmd || m->seq != cl.seq || m->cmd != cl.cmd)
			return; /* an answer to a write given up */
		if (!m->ok) {	/* not the leader: try the one it names */
			if (m->leader < nodes && m->leader != m->from) {
				cl.leader = m->leader;
				client_send();
			}
			return; /* else the timeout moves on */
		}
		CC_ALWAYS(m->index > cl.last_index,
			  "acknowledged writes keep their order", NULL);
		cl.last_index = m->index;
		if (cl.nacked < ACKED_MAX) {
			cl.acked[cl.nacked].index = m->index;
			cl.acked[cl.nacked].cmd = m->cmd;
			cl.nacked++;
		}
		cl.cmd = 0;
	} else if (m->type == CLIENT_READ) {
		if (!m->index || m->index > RAFT_LOG_CAP)
			return;
		struct client_msg r = {CLIENT_READ_REPLY,
				       self,
				       node.applied >= m->index,
				       0,
				       m->seq,
				       applied_cmd[m->index],
				       m->index};
		send_to(m->from, &r, sizeof(r));
	} else if (m->type == CLIENT_READ_REPLY && m->ok &&
		   m->seq < cl.nacked && cl.acked[m->seq].index == m->index) {
		CC_ALWAYS(m->cmd == cl.acked[m->seq].cmd,
			  "an acknowledged write is read back", NULL);
		if (m->cmd != cl.acked[m->seq].cmd)
			printf("raft: node %u: write at %llu lost: node %u has "
			       "another command there\n",
			       self, (unsigned long long)m->index, m->from);
	}
}

static void receive(void)
{
	union {
		struct raft_msg r;
		struct client_msg c;
		unsigned char b[sizeof(struct raft_msg) + 8];
	} u;
	ssize_t got;
	while ((got = recv(sock, &u, sizeof(u), MSG_DONTWAIT)) > 8) {
		size_t len = (size_t)got - 8;
		uint64_t sum;
		memcpy(&sum, u.b + len, 8);
		if (sum != wire_sum(u.b, len))
			continue; /* damaged on the way: as good as lost */
		if (len == sizeof(u.r) && u.r.to == self &&
		    !raft_msg_invalid(&u.r, nodes))
			raft_recv(&node, &u.r, now);
		else if (len == sizeof(u.c) && u.c.type >= CLIENT_WRITE)
			on_client(&u.c);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uint32_t bugs = 0;
	int client_ms = 100;
	const char *dir = "/data";
	nodes = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bug") && raft_bug_named(argv[i + 1]))
			bugs |= raft_bug_named(argv[i + 1]);
		else if (!strcmp(argv[i], "--client-ms"))
			client_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else {
			printf("raft: unknown option %s %s\n", argv[i],
			       argv[i + 1]);
			return 2;
		}
	}
	self = cluster_self();
	if (nodes < 1 || nodes > RAFT_MAX_NODES || self >= nodes ||
	    client_ms < 1) {
		printf("raft: %u nodes (1-%d), node %u, client %d ms\n", nodes,
		       RAFT_MAX_NODES, self, client_ms);
		return 2;
	}
	static struct raft_entry stored[RAFT_LOG_CAP];
	uint64_t term;
	int vote;
	uint64_t len;
	char why[128];
	if (store_open(dir, nodes, &term, &vote, stored, &len, why,
		       sizeof(why))) {
		printf("raft: node %u: %s in %s; not starting (it cannot tell "
		       "what it promised)\n",
		       self, why, dir);
		return 3;
	}
	applied_cmd = calloc(RAFT_LOG_CAP + 1, sizeof(*applied_cmd));
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	if (!applied_cmd || bind(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("raft: bind: %s\n", strerror(errno));
		return 2;
	}
	static const struct raft_io io = {NULL,	     io_persist, io_send,
					  io_random, io_apply,	 io_check,
					  io_goal};
	now = cluster_now_ms();
	raft_init(&node, self, nodes, bugs, &io, now, term, vote, stored, len);
	printf("raft: node %u of %u, term %llu, %llu entries on disk%s%s\n",
	       self, nodes, (unsigned long long)term, (unsigned long long)len,
	       bugs ? ", bug " : "", bugs ? raft_bug_name(bugs) : "");
	cl.next_at = now + 300;
	enum raft_role was = node.role;
	for (;;) {
		/* Sleep until something is due: a write in flight waits for
		 * its answer or its time-out, not in a spin (every poll is a
		 * system call, emulated kernel work on PVM). */
		int64_t due = raft_deadline(&node);
		int64_t client =
			cl.cmd ? cl.sent_at + CLIENT_WAIT + 1 : cl.next_at;
		int64_t next = client < due ? client : due;
		int wait = next > now ? (int)(next - now) : 0;
		if (wait > 50)
			wait = 50;
		struct pollfd pf = {sock, POLLIN, 0};
		poll(&pf, 1, wait);
		now = cluster_now_ms();
		receive();
		raft_tick(&node, now);
		client_tick(client_ms);
		if (node.role != was) {
			was = node.role;
			if (was == RAFT_LEADER)
				printf("raft: %lld ms: node %u leads term %llu "
				       "(log %llu)\n",
				       (long long)now, self,
				       (unsigned long long)node.term,
				       (unsigned long long)node.len);
		}
	}
}
