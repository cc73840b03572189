/* A Raft node's stable storage (store.h). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAGIC 0x314174654d434343ull /* "CCCMetA1" */
#define LOG_MAGIC  0x31676f4c74664152ull /* "RaftLog1" */

struct rec {
	uint64_t term, cmd, sum;
};

struct meta {
	uint64_t magic, term;
	int64_t vote;
	uint64_t len, digest, sum;
};

static int meta_fd = -1, log_fd = -1;
static struct meta disk; /* what raft.meta holds */

/* FNV-1a: any one changed byte changes the sum. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t rec_sum(uint64_t index, uint64_t term, uint64_t cmd)
{
	uint64_t v[3] = {index, term, cmd};
	return fnv(0xcbf29ce484222325ull, v, sizeof(v));
}

static uint64_t meta_sum(const struct meta *m)
{
	return fnv(0xcbf29ce484222325ull, m, offsetof(struct meta, sum));
}

static void fail(const char *what)
{
	printf("raft: %s: %s; stopping (nothing unstored was answered)\n", what,
	       strerror(errno));
	exit(3);
}

static void write_meta(const struct meta *m)
{
	if (pwrite(meta_fd, m, sizeof(*m), 0) != sizeof(*m))
		fail("raft.meta write");
	if (fdatasync(meta_fd) < 0)
		fail("raft.meta sync");
	disk = *m;
}

static off_t rec_at(uint64_t index)
{
	return (off_t)(8 + (index - 1) * sizeof(struct rec));
}

/* A new node: an empty log and term 0. */
static int create(void)
{
	uint64_t magic = LOG_MAGIC;
	if (ftruncate(log_fd, 0) < 0 || pwrite(log_fd, &magic, 8, 0) != 8 ||
	    fdatasync(log_fd) < 0)
		fail("raft.log create");
	struct meta m = {META_MAGIC, 0, -1, 0, 0, 0};
	m.sum = meta_sum(&m);
	write_meta(&m);
	return 0;
}

static int refuse(char *why, size_t cap, const char *what)
{
	snprintf(why, cap, "%s", what);
	return -1;
}

int store_open(const char *dir, unsigned nodes, uint64_t *term, int *vote,
	       struct raft_entry *log, uint64_t *len, char *why, size_t cap)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/raft.meta", dir);
	meta_fd = open(path, O_RDWR | O_CREAT, 0644);
	snprintf(path, sizeof(path), "%s/raft.log", dir);
	log_fd = open(path, O_RDWR | O_CREAT, 0644);
	if (meta_fd < 0 || log_fd < 0)
		return refuse(why, cap, "cannot open raft.meta or raft.log");
	*term = 0;
	*vote = -1;
	*len = 0;
	struct stat st;
	if (fstat(meta_fd, &st) < 0)
		return refuse(why, cap, "cannot stat raft.meta");
	if (st.st_size == 0)
		return create();
	struct meta m;
	if (pread(meta_fd, &m, sizeof(m), 0) != sizeof(m) ||
	    m.magic != META_MAGIC || m.sum != meta_sum(&m) || m.vote < -1 ||
	    m.vote >= (int64_t)nodes || m.len > RAFT_LOG_CAP)
		return refuse(why, cap, "raft.meta is damaged");
	uint64_t magic = 0, digest = 0;
	if (pread(log_fd, &magic, 8, 0) != 8 || magic != LOG_MAGIC)
		return refuse(why, cap, "raft.log has no header");
	for (uint64_t i = 1; i <= m.len; i++) {
		struct rec r;
		if (pread(log_fd, &r, sizeof(r), rec_at(i)) != sizeof(r) ||
		    r.sum != rec_sum(i, r.term, r.cmd) || r.term > m.term)
			return refuse(why, cap,
				      "raft.log lost or damaged a "
				      "promised entry");
		log[i - 1] = (struct raft_entry){r.term, r.cmd};
		digest = raft_digest_next(digest, &log[i - 1]);
	}
	if (digest != m.digest)
		return refuse(why, cap, "raft.log does not match raft.meta");
	if (ftruncate(log_fd, rec_at(m.len + 1)) < 0) /* an unfinished step */
		fail("raft.log truncate");
	disk = m;
	*term = m.term;
	*vote = (int)m.vote;
	*len = m.len;
	return 0;
}

void store_persist(const struct raft *r, uint64_t from)
{
	if (from > disk.len + 1)
		from = disk.len + 1;
	if (from <= r->len || from <= disk.len) {
		if (from <= disk.len && ftruncate(log_fd, rec_at(from)) < 0)
			fail("raft.log truncate");
		static struct rec buf[64]; /* one write per 64 entries */
		for (uint64_t i = from; i <= r->len;) {
			size_t n = 0;
			for (uint64_t k = i; k <= r->len && n < 64; k++, n++)
				buf[n] = (struct rec){r->log[k].term,
						      r->log[k].cmd,
						      rec_sum(k, r->log[k].term,
							      r->log[k].cmd)};
			ssize_t want = (ssize_t)(n * sizeof(*buf));
			if (pwrite(log_fd, buf, (size_t)want, rec_at(i)) !=
			    want)
				fail("raft.log write");
			i += n;
		}
		if (fdatasync(log_fd) < 0)
			fail("raft.log sync");
	}
	struct meta m = {META_MAGIC, r->term,		r->voted_for,
			 r->len,     r->digest[r->len], 0};
	m.sum = meta_sum(&m);
	if (memcmp(&m, &disk, sizeof(m)))
		write_meta(&m);
}
