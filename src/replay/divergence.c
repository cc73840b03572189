#include "divergence.h"

#include <inttypes.h>
#include <string.h>

static bool same(const struct cc_event *x, const struct cc_event *y)
{
	return x->vclock == y->vclock && x->kind == y->kind &&
	       x->size == y->size && x->a == y->a && x->b == y->b;
}

void cc_divergence_find(const struct cc_trace_record *a, uint64_t na,
			const struct cc_trace_record *b, uint64_t nb,
			struct cc_divergence *d)
{
	uint64_t n = na < nb ? na : nb, i = 0;
	while (i < n && same(&a[i].ev, &b[i].ev))
		i++;
	d->index = i;
	d->identical = i == n && na == nb;
}

static void line(FILE *f, const char *who, uint64_t i, uint64_t base,
		 const struct cc_trace_record *r, uint64_t n)
{
	if (i >= n) {
		fprintf(f, "  %-8s #%" PRIu64 ": (trace ends: no such event)\n",
			who, base + i);
		return;
	}
	char ev[160];
	cc_event_format(&r[i].ev, ev, sizeof(ev));
	fprintf(f,
		"  %-8s #%" PRIu64 " vclock %" PRIu64
		" ns  %-44s rip 0x%" PRIx64 "\n",
		who, base + i, r[i].ev.vclock, ev, r[i].rip);
}

void cc_divergence_print(FILE *f, const struct cc_divergence *d, uint64_t base,
			 const char *name_a, const struct cc_trace_record *a,
			 uint64_t na, const char *name_b,
			 const struct cc_trace_record *b, uint64_t nb,
			 unsigned context)
{
	if (d->identical) {
		fprintf(f, "traces identical (%" PRIu64 " events)\n",
			base + na);
		return;
	}
	fprintf(f,
		"first divergent event: #%" PRIu64 " (of %" PRIu64
		" and %" PRIu64 " events)\n",
		base + d->index, base + na, base + nb);
	uint64_t from = d->index > context ? d->index - context : 0;
	if (from < d->index)
		fprintf(f, " context (same in both runs):\n");
	for (uint64_t i = from; i < d->index; i++)
		line(f, "", i, base, a, na);
	fprintf(f, " divergence:\n");
	line(f, name_a, d->index, base, a, na);
	line(f, name_b, d->index, base, b, nb);
}
