/*
 * libchaoscontrol: the assertion catalog and the JSON records of the C
 * API (chaoscontrol.h).  Records leave through transport.c.  Only in
 * libchaoscontrol.a: formatting numbers uses the program's libc.
 *
 * Not instrumented (the coverage hooks would recurse).
 */
#define _GNU_SOURCE
#include "chaoscontrol.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "sdk_internal.h"

#define SDK_VERSION "0.1.0"

/* ---- JSON text ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void printf_(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void printf_(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string literal (quotes included). */
static void str(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(b, e, 2);
		} else if (c < 0x20) {
			printf_(b, "\\u%04x", c);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
	put(b, "\"", 1);
}

/* details: caller's JSON object text, or {} when absent or blank. */
static void details(struct buf *b, const char *d)
{
	while (d && (*d == ' ' || *d == '\n'))
		d++;
	puts_(b, d && *d == '{' ? d : "{}");
}

/* ---- output ------------------------------------------------------------ */

static void emit(struct buf *b)
{
	if (!b->overflow) /* a record we cannot send whole is not sent */
		cc_sdk_emit(b->p, (uint32_t)b->len);
}

#define RECORD_MAX CC_HC_PAYLOAD_MAX

/* ---- assertions ---------------------------------------------------------- */

static void assert_record(const struct cc_site *s, bool hit, bool cond,
			  const char *extra, const char *d)
{
	char mem[RECORD_MAX + 1];
	struct buf b = {mem, 0, RECORD_MAX, false};
	char loc[512];
	snprintf(loc, sizeof(loc), "%s:%d", s->file, s->line);
	puts_(&b, "{\"antithesis_assert\":{\"hit\":");
	puts_(&b, hit ? "true" : "false");
	puts_(&b, ",\"must_hit\":");
	puts_(&b, s->must_hit ? "true" : "false");
	puts_(&b, ",\"assert_type\":");
	str(&b, s->assert_type);
	puts_(&b, ",\"display_type\":");
	str(&b, s->display_type);
	puts_(&b, ",\"message\":");
	str(&b, s->message);
	puts_(&b, ",\"condition\":");
	puts_(&b, cond ? "true" : "false");
	printf_(&b, ",\"id\":\"%016llx\"", cc_fnv1a(loc));
	puts_(&b, ",\"location\":{\"class\":\"\",\"function\":");
	str(&b, s->function);
	puts_(&b, ",\"file\":");
	str(&b, s->file);
	printf_(&b, ",\"begin_line\":%d,\"begin_column\":0}", s->line);
	puts_(&b, ",\"details\":");
	if (extra) {
		/* Numeric forms: {"left":..,"right":..} + the caller's. */
		puts_(&b, extra);
		const char *u = d;
		while (u && (*u == ' ' || *u == '\n'))
			u++;
		if (u && *u == '{' && u[1] && u[1] != '}') {
			puts_(&b, ",");
			puts_(&b, u + 1);
		} else {
			puts_(&b, "}");
		}
	} else {
		details(&b, d);
	}
	puts_(&b, "}}");
	emit(&b);
}

static void register_site(struct cc_site *s)
{
	if (s->registered)
		return;
	s->registered = true;
	if (cc_sdk_mode() != CC_SDK_NOOP)
		assert_record(s, false, true, NULL, NULL);
}

void cc_sdk_assert(struct cc_site *s, bool cond, const char *d)
{
	register_site(s);
	if (cc_sdk_mode() != CC_SDK_NOOP)
		assert_record(s, true, cond, NULL, d);
}

void cc_sdk_assert_cmp(struct cc_site *s, bool cond, double left, double right,
		       const char *d)
{
	register_site(s);
	if (cc_sdk_mode() == CC_SDK_NOOP)
		return;
	char extra[96];
	snprintf(extra, sizeof(extra), "{\"left\":%.17g,\"right\":%.17g", left,
		 right);
	assert_record(s, true, cond, extra, d);
}

void cc_sdk_assert_bools(struct cc_site *s, bool all, const char *const *names,
			 const bool *values, size_t n)
{
	register_site(s);
	bool any = false, every = true;
	for (size_t i = 0; i < n; i++) {
		any |= values[i];
		every &= values[i];
	}
	if (cc_sdk_mode() == CC_SDK_NOOP)
		return;
	char mem[2048];
	struct buf b = {mem, 0, sizeof(mem) - 1, false};
	puts_(&b, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			puts_(&b, ",");
		str(&b, names[i]);
		puts_(&b, values[i] ? ":true" : ":false");
	}
	puts_(&b, "}");
	assert_record(s, true, all ? every : any, NULL,
		      b.overflow ? NULL : mem);
}

/* ---- lifecycle and events ------------------------------------------------ */

void cc_setup_complete(const char *d)
{
	char mem[RECORD_MAX + 1];
	struct buf b = {mem, 0, RECORD_MAX, false};
	puts_(&b,
	      "{\"antithesis_setup\":{\"status\":\"complete\",\"details\":");
	details(&b, d);
	puts_(&b, "}}");
	emit(&b);
}

void cc_send_event(const char *name, const char *d)
{
	char mem[RECORD_MAX + 1];
	struct buf b = {mem, 0, RECORD_MAX, false};
	puts_(&b, "{");
	str(&b, name && *name ? name : "event");
	puts_(&b, ":");
	details(&b, d);
	puts_(&b, "}");
	emit(&b);
}

/* The catalog: every site the linker gathered into section cc_sites. */
extern struct cc_site __start_cc_sites[] __attribute__((weak));
extern struct cc_site __stop_cc_sites[] __attribute__((weak));

/* Called by transport.c's constructor, in a mode that records. */
void cc_sdk_announce(void)
{
	char mem[256];
	struct buf b = {mem, 0, sizeof(mem) - 1, false};
	puts_(&b, "{\"antithesis_sdk\":{\"language\":{\"name\":\"C\","
		  "\"version\":\"C11\"},\"sdk_version\":\"" SDK_VERSION
		  "\",\"protocol_version\":\"1.1.0\"}}");
	emit(&b);
}

void cc_sdk_catalog(void)
{
	for (struct cc_site *s = __start_cc_sites; s && s < __stop_cc_sites;
	     s++)
		register_site(s);
}
