#include "drive.h"

int cc_drive(struct cc_sim *s, const struct cc_drive *d, struct cc_err *err)
{
	while (s->tick < d->ticks && !cc_sim_done(s)) {
		if (d->snap && !*d->snap && s->tick == d->snap_at &&
		    cc_sim_snapshot(s, d->snap, err))
			return -1;
		if (cc_sim_step_round(s, err))
			return -1;
		if (d->on_round)
			d->on_round(d->ctx, s);
	}
	return 0;
}

long cc_drive_restore_check(struct cc_sim *s, const struct cc_drive *d,
			    struct cc_sim_snapshot *snap, uint64_t repeats,
			    uint64_t want, uint64_t *first_bad,
			    struct cc_err *err)
{
	struct cc_drive again = *d;
	again.snap = NULL; /* the snapshot exists */
	long differed = 0;
	for (uint64_t k = 0; k < repeats; k++) {
		if (cc_sim_restore(s, snap, err) || cc_drive(s, &again, err))
			return -1;
		uint64_t got = cc_sim_trace_hash(s);
		if (got != want && !differed++)
			*first_bad = got;
	}
	return differed;
}
