/*
 * The campaign's state, for --resume: DIR/state.json, written atomically
 * when the root is reached and at the end of every round (after the
 * round's queue/, bugs/ and report), so a campaign killed at any moment
 * goes on from its last round boundary.  The round in progress is run again:
 * its plans come from the same stream position and corpus, so it writes the
 * same files again, and the finished campaign equals one never interrupted.
 *
 * It holds the campaign's configuration (which wins over the command
 * line's, but for the budget), the stream position, every counter that
 * reaches a result, the coverage seen, the goals met, every corpus
 * entry (path, template, statistics: not its snapshot, which is rebuilt
 * from the root when it is next picked) and every bug (its reproducer
 * is read back from bugs/).  Versioned; every field checked on load.
 */
#ifndef CC_EXPLORE_STATE_H
#define CC_EXPLORE_STATE_H

#include <stdbool.h>

#include "explorer.h"

#define CC_STATE_VERSION 2 /* 2: the branches' network counters */

int cc_state_save(const struct cc_explorer *x, struct cc_err *err);

/* The saved configuration over *cfg (the budget kept when keep_budget);
 * *found false when the directory has no state yet (a campaign killed
 * before its first round ended starts again). */
int cc_state_config(const char *out, struct cc_explore_config *cfg,
		    bool keep_budget, bool *found, struct cc_err *err);

/* After cc_explore_init: the campaign as it was saved. */
int cc_state_load(struct cc_explorer *x, struct cc_err *err);

#endif
