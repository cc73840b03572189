#include "schedule.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../base/array.h"
#include "../vmm/kernel.h"
#include "chaoscontrol/protocol.h"
#include "../base/file.h"

#define MS 1000000ll

/* Per kind: its name and the fields it takes (besides at_ms, type). */
enum {
	F_VM = 1,
	F_PPM = 2,
	F_TICKS = 4,
	F_BPS = 8,
	F_DURATION = 16,
	F_OFFSET = 32,
	F_BYTES = 64,
	F_IRQ = 128,
	F_SIDES = 256,
};

static const struct {
	const char *name;
	unsigned fields, required;
} kinds[CC_FAULT__COUNT] = {
	[CC_FAULT_NETWORK_PARTITION] = {"network_partition", F_SIDES, F_SIDES},
	[CC_FAULT_NETWORK_HEAL] = {"network_heal", 0, 0},
	[CC_FAULT_NETWORK_LATENCY] = {"network_latency", F_VM | F_TICKS,
				      F_VM | F_TICKS},
	[CC_FAULT_NETWORK_JITTER] = {"network_jitter", F_VM | F_TICKS,
				     F_VM | F_TICKS},
	[CC_FAULT_NETWORK_BANDWIDTH] = {"network_bandwidth", F_VM | F_BPS,
					F_VM | F_BPS},
	[CC_FAULT_PACKET_LOSS] = {"packet_loss", F_VM | F_PPM, F_VM | F_PPM},
	[CC_FAULT_PACKET_CORRUPTION] = {"packet_corruption", F_VM | F_PPM,
					F_VM | F_PPM},
	[CC_FAULT_PACKET_REORDER] = {"packet_reorder", F_VM | F_PPM | F_TICKS,
				     F_VM | F_PPM | F_TICKS},
	[CC_FAULT_PACKET_DUPLICATE] = {"packet_duplicate", F_VM | F_PPM,
				       F_VM | F_PPM},
	[CC_FAULT_DISK_READ_ERROR] = {"disk_read_error", F_VM, F_VM},
	[CC_FAULT_DISK_WRITE_ERROR] = {"disk_write_error", F_VM, F_VM},
	[CC_FAULT_DISK_TORN_WRITE] = {"disk_torn_write", F_VM, F_VM},
	[CC_FAULT_DISK_CORRUPTION] = {"disk_corruption", F_VM, F_VM},
	[CC_FAULT_DISK_FULL] = {"disk_full", F_VM, F_VM},
	[CC_FAULT_DISK_HEAL] = {"disk_heal", F_VM, F_VM},
	[CC_FAULT_PROCESS_KILL] = {"process_kill", F_VM, F_VM},
	[CC_FAULT_PROCESS_PAUSE] = {"process_pause", F_VM | F_DURATION, F_VM},
	[CC_FAULT_PROCESS_RESTART] = {"process_restart", F_VM, F_VM},
	[CC_FAULT_CLOCK_SKEW] = {"clock_skew", F_VM | F_OFFSET,
				 F_VM | F_OFFSET},
	[CC_FAULT_CLOCK_JUMP] = {"clock_jump", F_VM | F_OFFSET,
				 F_VM | F_OFFSET},
	[CC_FAULT_MEMORY_PRESSURE] = {"memory_pressure", F_VM | F_BYTES,
				      F_VM | F_BYTES},
	[CC_FAULT_INTERRUPT] = {"interrupt", F_VM | F_IRQ, F_VM | F_IRQ},
	[CC_FAULT_NMI] = {"nmi", F_VM, F_VM},
	[CC_FAULT_PROCESS_CRASH] = {"process_crash", F_VM, F_VM},
};

/* JSON field name per flag, in flag order. */
static const char *const field_names[] = {
	"vm",	     "ppm",   "ticks", "bps",	"duration_ms",
	"offset_ms", "bytes", "irq",   "sides",
};
#define NFIELDS (sizeof(field_names) / sizeof(field_names[0]))

const char *cc_fault_name(enum cc_fault_kind k)
{
	return k < CC_FAULT__COUNT ? kinds[k].name : "?";
}

enum cc_fault_kind cc_fault_kind_of(const char *name)
{
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		if (!strcmp(kinds[k].name, name))
			return (enum cc_fault_kind)k;
	return CC_FAULT__COUNT;
}

int cc_schedule_add(struct cc_schedule *s, const struct cc_fault *f)
{
	if (cc_array_grow(&s->f, &s->cap, s->n, sizeof(*s->f), 16))
		return -1;
	size_t at = s->n;
	while (at > 0 && s->f[at - 1].at_ns > f->at_ns)
		at--;
	memmove(&s->f[at + 1], &s->f[at], (s->n - at) * sizeof(*s->f));
	s->f[at] = *f;
	s->n++;
	return 0;
}

/* Sorts a[0..n) by time, stably: faults of one time keep the order they
 * were added in, as cc_schedule_add's insertion keeps it (a bottom-up
 * merge sort; qsort is not stable). */
static int sort_by_time(struct cc_fault *a, size_t n)
{
	size_t i = 1;
	while (i < n && a[i - 1].at_ns <= a[i].at_ns)
		i++;
	if (i >= n)
		return 0; /* already in order: the usual case */
	struct cc_fault *t = malloc(n * sizeof(*t));
	if (!t)
		return -1;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t l = lo, r = mid, k = lo;
			while (l < mid && r < hi)
				t[k++] = a[r].at_ns < a[l].at_ns ? a[r++]
								 : a[l++];
			while (l < mid)
				t[k++] = a[l++];
			while (r < hi)
				t[k++] = a[r++];
		}
		memcpy(a, t, n * sizeof(*a));
	}
	free(t);
	return 0;
}

int cc_schedule_add_n(struct cc_schedule *s, const struct cc_fault *f, size_t n)
{
	if (!n)
		return 0;
	if (n > SIZE_MAX / sizeof(*f) - s->n)
		return -1;
	while (s->cap < s->n + n) /* each call doubles it */
		if (cc_array_grow(&s->f, &s->cap, s->cap, sizeof(*s->f), n))
			return -1;
	memcpy(&s->f[s->n], f, n * sizeof(*f));
	if (sort_by_time(s->f, s->n + n))
		return -1;
	s->n += n;
	return 0;
}

/* A non-negative integer field within max, or a negative-allowed one. */
static int get_int(json_t *o, const char *key, long long lo, long long hi,
		   long long *v, size_t i, struct cc_err *err)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < lo ||
	    json_integer_value(j) > hi)
		return cc_err_set(err,
				  "schedule: fault %zu: \"%s\" must be an "
				  "integer in [%lld, %lld]",
				  i, key, lo, hi);
	*v = json_integer_value(j);
	return 0;
}

static int get_sides(json_t *o, struct cc_fault *f, unsigned nvms, size_t i,
		     struct cc_err *err)
{
	json_t *a = json_object_get(o, "sides");
	if (!json_is_array(a) || json_array_size(a) != nvms)
		return cc_err_set(err,
				  "schedule: fault %zu: \"sides\" must list "
				  "one side per VM (%u)",
				  i, nvms);
	f->nsides = nvms;
	for (unsigned v = 0; v < nvms; v++) {
		json_t *x = json_array_get(a, v);
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) >= (json_int_t)nvms)
			return cc_err_set(err,
					  "schedule: fault %zu: sides[%u] "
					  "must be in [0, %u)",
					  i, v, nvms);
		f->sides[v] = (uint32_t)json_integer_value(x);
	}
	return 0;
}

static int check_keys(json_t *o, unsigned fields, size_t i, struct cc_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (!strcmp(key, "at_ms") || !strcmp(key, "type"))
			continue;
		unsigned b = 0;
		while (b < NFIELDS && strcmp(key, field_names[b]))
			b++;
		if (b == NFIELDS || !(fields & (1u << b)))
			return cc_err_set(
				err,
				"schedule: fault %zu (%s): unknown "
				"field \"%s\"",
				i,
				json_string_value(json_object_get(o, "type")),
				key);
	}
	return 0;
}

static int parse_fault(json_t *o, struct cc_fault *f, unsigned nvms, size_t i,
		       struct cc_err *err)
{
	memset(f, 0, sizeof(*f));
	const char *type = json_string_value(json_object_get(o, "type"));
	if (!json_is_object(o) || !type)
		return cc_err_set(err, "schedule: fault %zu: needs a \"type\"",
				  i);
	f->kind = cc_fault_kind_of(type);
	if (f->kind == CC_FAULT__COUNT)
		return cc_err_set(err,
				  "schedule: fault %zu: unknown type \"%s\" "
				  "(see docs/FAULTS.md)",
				  i, type);
	unsigned fl = kinds[f->kind].fields, req = kinds[f->kind].required;
	long long v;
	if (check_keys(o, fl, i, err) ||
	    get_int(o, "at_ms", 0, INT64_MAX / MS, &v, i, err))
		return -1;
	f->at_ns = (uint64_t)v * MS;
	for (unsigned b = 0; b < NFIELDS; b++) {
		unsigned bit = 1u << b;
		if (!(fl & bit))
			continue;
		bool present = json_object_get(o, field_names[b]) != NULL;
		if (!present && (req & bit))
			return cc_err_set(err,
					  "schedule: fault %zu (%s): needs "
					  "\"%s\"",
					  i, type, field_names[b]);
	}
	if (fl & F_VM) {
		if (get_int(o, "vm", 0, (long long)nvms - 1, &v, i, err))
			return -1;
		f->vm = (uint32_t)v;
	}
	if ((fl & F_PPM) && !get_int(o, "ppm", 0, CC_PPM_ONE, &v, i, err))
		f->ppm = (uint32_t)v;
	else if (fl & F_PPM)
		return -1;
	if ((fl & F_TICKS) &&
	    get_int(o, "ticks", f->kind == CC_FAULT_PACKET_REORDER ? 1 : 0,
		    1000000, &v, i, err))
		return -1;
	f->ticks = (fl & F_TICKS) ? (uint64_t)v : 0;
	if ((fl & F_BPS) && get_int(o, "bps", 0, INT64_MAX, &v, i, err))
		return -1;
	f->bps = (fl & F_BPS) ? (uint64_t)v : 0;
	if (json_object_get(o, "duration_ms")) {
		if (get_int(o, "duration_ms", 0, INT64_MAX / MS, &v, i, err))
			return -1;
		f->duration_ns = (uint64_t)v * MS;
	}
	if (fl & F_OFFSET) {
		if (get_int(o, "offset_ms", -INT64_MAX / MS, INT64_MAX / MS, &v,
			    i, err))
			return -1;
		f->offset_ns = v * MS;
	}
	if ((fl & F_BYTES) && get_int(o, "bytes", 1, INT64_MAX, &v, i, err))
		return -1;
	f->bytes = (fl & F_BYTES) ? (uint64_t)v : 0;
	if ((fl & F_IRQ) && get_int(o, "irq", 0, 15, &v, i, err))
		return -1;
	f->irq = (fl & F_IRQ) ? (uint32_t)v : 0;
	if ((fl & F_SIDES) && get_sides(o, f, nvms, i, err))
		return -1;
	return 0;
}

int cc_schedule_parse(struct cc_schedule *s, const char *json, size_t len,
		      unsigned nvms, struct cc_err *err)
{
	memset(s, 0, sizeof(*s));
	if (nvms == 0 || nvms > CC_SCHEDULE_MAX_VMS)
		return cc_err_set(err, "schedule: %u VMs (1 to %u)", nvms,
				  CC_SCHEDULE_MAX_VMS);
	json_error_t e;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (!root)
		return cc_err_set(err, "schedule: line %d: %s", e.line, e.text);
	json_t *faults = json_object_get(root, "faults");
	int rc = 0;
	if (!json_is_array(faults)) {
		rc = cc_err_set(err, "schedule: wants {\"faults\": [...]}");
	}
	/* Parsed whole, then placed at once: a file in reverse time order
	 * costs a sort, not a shift per fault. */
	size_t i, nf = rc ? 0 : json_array_size(faults);
	struct cc_fault *all = nf ? calloc(nf, sizeof(*all)) : NULL;
	if (nf && !all)
		rc = cc_err_set(err, "schedule: out of memory");
	json_t *o;
	json_array_foreach(faults, i, o)
	{
		if (rc || parse_fault(o, &all[i], nvms, i, err)) {
			rc = -1;
			break;
		}
	}
	if (!rc && cc_schedule_add_n(s, all, nf))
		rc = cc_err_set(err, "schedule: out of memory");
	free(all);
	json_decref(root);
	if (rc)
		cc_schedule_free(s);
	return rc;
}

int cc_schedule_load(struct cc_schedule *s, const char *path, unsigned nvms,
		     struct cc_err *err)
{
	uint8_t *d;
	size_t n;
	if (cc_read_file(path, "schedule", &d, &n, err))
		return -1;
	int rc = cc_schedule_parse(s, (const char *)d, n, nvms, err);
	free(d);
	return rc;
}

const struct cc_fault *cc_schedule_due(struct cc_schedule *s, uint64_t now_ns)
{
	if (s->next < s->n && s->f[s->next].at_ns <= now_ns)
		return &s->f[s->next++];
	return NULL;
}

json_t *cc_fault_json(const struct cc_fault *f)
{
	json_t *o =
		json_pack("{s:I, s:s}", "at_ms", (json_int_t)(f->at_ns / MS),
			  "type", cc_fault_name(f->kind));
	unsigned fl = kinds[f->kind].fields;
	json_int_t vals[] = {f->vm,
			     f->ppm,
			     (json_int_t)f->ticks,
			     (json_int_t)f->bps,
			     (json_int_t)(f->duration_ns / MS),
			     (json_int_t)(f->offset_ns / MS),
			     (json_int_t)f->bytes,
			     f->irq};
	for (unsigned b = 0; b < NFIELDS - 1; b++)
		if (fl & (1u << b) &&
		    (b != 4 || f->duration_ns)) /* duration: when set */
			json_object_set_new(o, field_names[b],
					    json_integer(vals[b]));
	if (fl & F_SIDES) {
		json_t *a = json_array();
		for (unsigned v = 0; v < f->nsides; v++)
			json_array_append_new(a, json_integer(f->sides[v]));
		json_object_set_new(o, "sides", a);
	}
	return o;
}

char *cc_schedule_to_json(const struct cc_schedule *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, cc_fault_json(&s->f[i]));
	json_t *root = json_pack("{s:o}", "faults", a);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

void cc_schedule_free(struct cc_schedule *s)
{
	free(s->f);
	memset(s, 0, sizeof(*s));
}

int cc_fault_canon(struct cc_fault *f, unsigned nvms)
{
	json_t *root = json_pack("{s:[o]}", "faults", cc_fault_json(f));
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	struct cc_schedule s = {0};
	struct cc_err e;
	int rc = text && !cc_schedule_parse(&s, text, strlen(text), nvms, &e) &&
				 s.n == 1
			 ? 0
			 : -1;
	if (!rc)
		*f = s.f[0];
	cc_schedule_free(&s);
	free(text);
	return rc;
}
