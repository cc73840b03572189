/*
 * A Raft node's stable storage: the term, the vote and the log, in two
 * files of a directory (the data disk), each record checksummed.
 *
 * raft.log is a header and one record per entry; raft.meta holds the
 * term, the vote, the log's length and its digest (raft_digest_next
 * over the entries), written after the log is synced.  So on load the
 * meta says which prefix of the log was promised, and a prefix that does
 * not match it (a torn or lost write the disk reported as done, a
 * flipped byte) is refused rather than trusted: a node that cannot tell
 * what it promised must not vote or acknowledge again.  Entries past the
 * meta's length are an unfinished step (nothing was answered for them)
 * and are dropped.
 */
#ifndef CC_RAFT_STORE_H
#define CC_RAFT_STORE_H

#include <stddef.h>

#include "raft.h"

/* Opens (or creates) DIR/raft.{meta,log} and reads them into term, vote
 * and log[0..*len).  0, or -1 with why filled. */
int store_open(const char *dir, unsigned nodes, uint64_t *term, int *vote,
	       struct raft_entry *log, uint64_t *len, char *why, size_t cap);

/* Makes r's term, vote and log from index `from` durable (fdatasync) —
 * raft_io.persist.  A failed write or sync ends the process: it has not
 * answered anything it could not store. */
void store_persist(const struct raft *r, uint64_t from);

#endif
