#define _GNU_SOURCE
#include "recording.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../run/reproducer.h"

#define FORMAT	   "chaoscontrol-recording"
#define FLUSH_SIZE (1u << 20)

/* --- writing ------------------------------------------------------------ */

static int flush(struct cc_recorder *w)
{
	if (!w->len || w->failed)
		return w->failed;
	XXH3_64bits_update(w->hash, w->buf, w->len);
	if (cc_file_out_write(&w->out, w->buf, w->len, &w->err))
		w->failed = -1;
	w->len = 0;
	return w->failed;
}

static void add(struct cc_recorder *w, const char *p, size_t n)
{
	if (w->failed)
		return;
	w->bytes += n;
	if (w->bytes > CC_REC_MAX_BYTES) {
		w->failed = cc_err_set(&w->err,
				       "the recording passed its cap of %llu "
				       "MiB: record fewer ticks",
				       CC_REC_MAX_BYTES >> 20);
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : FLUSH_SIZE;
		while (cap < w->len + n)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b) {
			w->failed = cc_err_set(&w->err, "out of memory");
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	if (w->len >= FLUSH_SIZE)
		flush(w);
}

/* The arguments that name regular files, with their hashes. */
static int header_files(json_t *files, int argc, char *const *argv,
			struct cc_err *err)
{
	size_t n = 0;
	for (int k = 0; k < argc; k++) {
		struct stat st;
		if (stat(argv[k], &st) || !S_ISREG(st.st_mode))
			continue;
		if (++n > CC_REC_MAX_FILES)
			return cc_err_set(err,
					  "more than %u files on the "
					  "command line",
					  CC_REC_MAX_FILES);
		uint64_t h, size;
		if (cc_file_hash64(argv[k], "input", &h, &size, err))
			return -1;
		json_array_append_new(files,
				      json_pack("{s:s, s:o, s:I}", "path",
						argv[k], "xxh3", cc_json_hex(h),
						"size", (json_int_t)size));
	}
	return 0;
}

static char *header(int argc, char *const *argv, uint64_t every,
		    struct cc_err *err)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		cc_err_errno(err, "recording: the working directory");
		return NULL;
	}
	if (argc < 0 || (size_t)argc > CC_REC_MAX_ARGS) {
		cc_err_set(err, "recording: more than %u arguments",
			   CC_REC_MAX_ARGS);
		return NULL;
	}
	json_t *args = json_array(), *files = json_array();
	for (int k = 0; k < argc; k++)
		json_array_append_new(args, json_string(argv[k]));
	json_t *h = json_pack("{s:s, s:i, s:o, s:s, s:o, s:I}", "format",
			      FORMAT, "version", CC_REC_VERSION, "argv", args,
			      "cwd", cwd, "files", files, "checkpoint_every",
			      (json_int_t)every);
	char *text = NULL;
	if (h && !header_files(files, argc, argv, err))
		text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else if (!h)
		cc_err_set(err, "recording: an argument is not UTF-8");
	json_decref(h);
	return text;
}

int cc_recorder_open(struct cc_recorder *w, const char *path, int argc,
		     char *const *argv, uint64_t every, struct cc_err *err)
{
	*w = (struct cc_recorder){.out.fd = -1};
	char *head = header(argc, argv, every, err);
	if (!head)
		return -1;
	w->hash = XXH3_createState();
	if (!w->hash || XXH3_64bits_reset(w->hash)) {
		free(head);
		return cc_err_set(err, "out of memory");
	}
	if (cc_file_out_open(&w->out, path, err)) {
		free(head);
		cc_recorder_abandon(w);
		return -1;
	}
	add(w, head, strlen(head));
	add(w, "\n", 1);
	free(head);
	return 0;
}

void cc_recorder_event(void *recorder, const struct cc_obs_event *e)
{
	struct cc_recorder *w = recorder;
	w->events++;
	w->checkpoints += e->type == CC_EV_CHECKPOINT;
	w->bugs += e->type == CC_EV_BUG;
	add(w, e->text, e->len);
	add(w, "\n", 1);
}

int cc_recorder_commit(struct cc_recorder *w, uint64_t ticks,
		       uint64_t trace_hash, struct cc_err *err)
{
	if (flush(w)) {
		*err = w->err;
		cc_recorder_abandon(w);
		return -1;
	}
	char end[512];
	int n = snprintf(end, sizeof(end),
			 "{\"end\":true,\"events\":%" PRIu64
			 ",\"checkpoints\":%" PRIu64 ",\"bugs\":%" PRIu64
			 ",\"ticks\":%" PRIu64 ",\"trace_hash\":\"0x%016" PRIx64
			 "\",\"xxh3\":\"0x%016" PRIx64 "\"}\n",
			 w->events, w->checkpoints, w->bugs, ticks, trace_hash,
			 XXH3_64bits_digest(w->hash));
	if (cc_file_out_write(&w->out, end, (size_t)n, err) ||
	    cc_file_out_commit(&w->out, err)) {
		cc_recorder_abandon(w);
		return -1;
	}
	cc_recorder_abandon(w); /* frees; the file is in place */
	return 0;
}

void cc_recorder_abandon(struct cc_recorder *w)
{
	cc_file_out_abandon(&w->out);
	if (w->hash)
		XXH3_freeState(w->hash);
	free(w->buf);
	w->hash = NULL;
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* --- reading ------------------------------------------------------------ */

static int get_u64(json_t *o, const char *key, uint64_t *v, struct cc_err *err)
{
	return cc_json_get_uint(o, key, UINT64_MAX >> 1, v, err);
}

static int parse_files(struct cc_recording *r, json_t *a, struct cc_err *err)
{
	if (!json_is_array(a) || json_array_size(a) > CC_REC_MAX_FILES)
		return cc_err_set(err,
				  "\"files\" is not an array of at most "
				  "%u files",
				  CC_REC_MAX_FILES);
	size_t k;
	json_t *f;
	json_array_foreach(a, k, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));
		struct cc_rec_file *rf = &r->file[r->nfiles];
		if (!p || !*p)
			return cc_err_set(err, "file %zu has no path", k);
		if (cc_json_get_hex(f, "xxh3", &rf->hash, err) ||
		    get_u64(f, "size", &rf->size, err))
			return -1;
		if (!(rf->path = strdup(p)))
			return cc_err_set(err, "out of memory");
		r->nfiles++;
	}
	return 0;
}

static int parse_argv(struct cc_recording *r, json_t *a, struct cc_err *err)
{
	if (!json_is_array(a) || json_array_size(a) > CC_REC_MAX_ARGS)
		return cc_err_set(err,
				  "\"argv\" is not an array of at most "
				  "%u strings",
				  CC_REC_MAX_ARGS);
	r->argv = calloc(json_array_size(a) + 1, sizeof(*r->argv));
	if (!r->argv)
		return cc_err_set(err, "out of memory");
	size_t k;
	json_t *s;
	json_array_foreach(a, k, s)
	{
		if (!json_is_string(s))
			return cc_err_set(err, "argv[%zu] is not a string", k);
		if (!(r->argv[k] = strdup(json_string_value(s))))
			return cc_err_set(err, "out of memory");
		r->argc = k + 1;
	}
	return 0;
}

static int parse_header(struct cc_recording *r, const char *line,
			struct cc_err *err)
{
	json_error_t je;
	json_t *h = json_loads(line, 0, &je);
	if (!json_is_object(h)) {
		json_decref(h);
		return cc_err_set(err, "line 1 is not a recording's header");
	}
	int rc = -1;
	const char *fmt = json_string_value(json_object_get(h, "format"));
	json_t *ver = json_object_get(h, "version");
	const char *cwd = json_string_value(json_object_get(h, "cwd"));
	if (!fmt || strcmp(fmt, FORMAT))
		cc_err_set(err, "not a chaoscontrol recording (format %s)",
			   fmt ? fmt : "missing");
	else if (!json_is_integer(ver) ||
		 json_integer_value(ver) != CC_REC_VERSION)
		cc_err_set(err,
			   "recording version %lld; this build reads "
			   "version %d",
			   (long long)json_integer_value(ver), CC_REC_VERSION);
	else if (!cwd || *cwd != '/')
		cc_err_set(err, "\"cwd\" is not an absolute path");
	else if (!(r->cwd = strdup(cwd)))
		cc_err_set(err, "out of memory");
	else if (!parse_argv(r, json_object_get(h, "argv"), err) &&
		 !parse_files(r, json_object_get(h, "files"), err) &&
		 !get_u64(h, "checkpoint_every", &r->every, err))
		rc = 0;
	json_decref(h);
	return rc;
}

/* One event line, numbered k (file line k + 2), after prev_tick. */
static int parse_event(struct cc_recording *r, char *line, size_t len, size_t k,
		       uint64_t prev_tick, struct cc_err *err)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	struct cc_rec_event *e = &r->ev[k];
	int rc = -1;
	uint64_t i;
	json_t *vm = json_object_get(o, "vm");
	const char *type = json_string_value(json_object_get(o, "type"));
	int t = type ? cc_event_type_parse(type) : -1;
	if (!json_is_object(o))
		cc_err_set(err, "line %zu is not a JSON object", k + 2);
	else if (get_u64(o, "i", &i, err) || get_u64(o, "tick", &e->tick, err))
		;
	else if (i != k)
		cc_err_set(err, "line %zu is event %" PRIu64 ", not %zu", k + 2,
			   i, k);
	else if (e->tick < prev_tick)
		cc_err_set(err,
			   "event %zu goes back in time (tick %" PRIu64
			   " after %" PRIu64 ")",
			   k, e->tick, prev_tick);
	else if (t < 0)
		cc_err_set(err, "event %zu has an unknown type", k);
	else if (vm && (!json_is_integer(vm) || json_integer_value(vm) < 0 ||
			json_integer_value(vm) >= CC_SIM_MAX_VMS))
		cc_err_set(err, "event %zu names no VM", k);
	else
		rc = 0;
	if (!rc) {
		e->type = (enum cc_event_type)t;
		e->vm = vm ? (int)json_integer_value(vm) : -1;
		e->failed = t == CC_EV_ASSERT &&
			    json_is_false(json_object_get(o, "condition"));
		e->line = line;
		e->len = len;
		r->checkpoints += t == CC_EV_CHECKPOINT;
		r->bugs += t == CC_EV_BUG;
	}
	json_decref(o);
	return rc;
}

static int parse_end(struct cc_recording *r, const char *line, uint64_t sum,
		     struct cc_err *err)
{
	json_t *o = json_loads(line, 0, NULL);
	uint64_t events, cps, bugs, xxh;
	int rc = -1;
	if (!json_is_true(json_object_get(o, "end")))
		cc_err_set(err, "the recording is truncated: it has no end "
				"line");
	else if (get_u64(o, "events", &events, err) ||
		 get_u64(o, "checkpoints", &cps, err) ||
		 get_u64(o, "bugs", &bugs, err) ||
		 get_u64(o, "ticks", &r->ticks, err) ||
		 cc_json_get_hex(o, "trace_hash", &r->trace_hash, err) ||
		 cc_json_get_hex(o, "xxh3", &xxh, err))
		;
	else if (xxh != sum)
		cc_err_set(err,
			   "the recording is corrupt: its checksum is "
			   "%016" PRIx64 ", its bytes hash to %016" PRIx64,
			   xxh, sum);
	else if (events != r->nev || cps != r->checkpoints || bugs != r->bugs)
		cc_err_set(err,
			   "the end line counts %" PRIu64 " events, %" PRIu64
			   " checkpoints and %" PRIu64 " bugs; the file "
			   "has %zu, %" PRIu64 " and %" PRIu64,
			   events, cps, bugs, r->nev, r->checkpoints, r->bugs);
	else
		rc = 0;
	json_decref(o);
	return rc;
}

static size_t count_lines(const char *p, size_t len)
{
	size_t n = 0;
	for (const char *q = p; (q = memchr(q, '\n', len - (size_t)(q - p)));
	     q++)
		n++;
	return n;
}

static int parse_lines(struct cc_recording *r, char *text, size_t len,
		       struct cc_err *err)
{
	if (!len || text[len - 1] != '\n')
		return cc_err_set(err, "the recording is truncated: its last "
				       "line is cut");
	size_t lines = count_lines(text, len);
	if (lines < 2)
		return cc_err_set(err, "the recording is truncated: it has no "
				       "end line");
	/* The end line's checksum covers every byte before it, as written
	 * (before the newlines below become NULs). */
	char *last = memrchr(text, '\n', len - 1) + 1;
	uint64_t sum = XXH3_64bits(text, (size_t)(last - text));
	r->ev = calloc(lines - 2 ? lines - 2 : 1, sizeof(*r->ev));
	if (!r->ev)
		return cc_err_set(err, "out of memory");
	char *p = text, *nl = memchr(p, '\n', len);
	*nl = 0;
	if (parse_header(r, p, err))
		return -1;
	uint64_t prev = 0;
	for (size_t k = 0; k + 2 < lines; k++) {
		p = nl + 1;
		nl = memchr(p, '\n', len - (size_t)(p - text));
		*nl = 0;
		if (parse_event(r, p, (size_t)(nl - p), k, prev, err))
			return -1;
		prev = r->ev[k].tick;
		r->nev = k + 1;
	}
	text[len - 1] = 0;
	return parse_end(r, last, sum, err);
}

int cc_recording_parse(struct cc_recording *r, char *text, size_t len,
		       struct cc_err *err)
{
	memset(r, 0, sizeof(*r));
	r->text = text;
	r->text_len = len;
	if (len > CC_REC_MAX_BYTES) {
		cc_err_set(err, "the recording is larger than %llu MiB",
			   CC_REC_MAX_BYTES >> 20);
	} else if (memchr(text, 0, len)) {
		cc_err_set(err, "the recording has a NUL byte: it is not "
				"text");
	} else if (!parse_lines(r, text, len, err)) {
		return 0;
	}
	cc_recording_free(r);
	return -1;
}

int cc_recording_load(struct cc_recording *r, const char *path,
		      struct cc_err *err)
{
	uint8_t *data;
	size_t len;
	memset(r, 0, sizeof(*r));
	if (cc_read_file(path, "recording", &data, &len, err))
		return -1;
	if (cc_recording_parse(r, (char *)data, len, err)) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return cc_err_set(err, "%s: %s", path, msg);
	}
	return 0;
}

void cc_recording_free(struct cc_recording *r)
{
	for (size_t k = 0; r->argv && k < r->argc; k++)
		free(r->argv[k]);
	free(r->argv);
	for (size_t k = 0; k < r->nfiles; k++)
		free(r->file[k].path);
	free(r->cwd);
	free(r->ev);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

int cc_recording_check_files(const struct cc_recording *r, struct cc_err *err)
{
	for (size_t k = 0; k < r->nfiles; k++) {
		const struct cc_rec_file *f = &r->file[k];
		char path[2 * PATH_MAX];
		snprintf(path, sizeof(path), "%s%s%s",
			 f->path[0] == '/' ? "" : r->cwd,
			 f->path[0] == '/' ? "" : "/", f->path);
		uint64_t h, size;
		if (cc_file_hash64(path, "recorded input", &h, &size, err))
			return -1;
		if (h != f->hash || size != f->size)
			return cc_err_set(err,
					  "%s changed since it was recorded "
					  "(xxh3 %016" PRIx64 ", %" PRIu64
					  " bytes; recorded %016" PRIx64
					  ", %" PRIu64 ")",
					  path, h, size, f->hash, f->size);
	}
	return 0;
}
