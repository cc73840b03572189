/*
 * libchaoscontrol: modes, the assertion catalog, JSON records and the
 * hypercall transport.  See chaoscontrol.h for the API and
 * include/chaoscontrol/protocol.h for the wire format.
 *
 * Not instrumented (the coverage hooks would recurse).
 */
#define _GNU_SOURCE
#include "chaoscontrol.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "sdk_internal.h"

#define SDK_VERSION "0.1.0"

static enum cc_sdk_mode mode = CC_SDK_NOOP;
static volatile struct cc_hc_page *page;
static volatile uint8_t *bell;
static int local_fd = -1;

enum cc_sdk_mode cc_sdk_mode(void)
{
	return mode;
}

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

static void lock_page(void)
{
	unsigned me = (unsigned)getpid();
	for (;;) {
		unsigned held =
			__atomic_exchange_n(&page->lock, me, __ATOMIC_ACQUIRE);
		if (held == 0 || held == me)
			return;
		/* Held: put it back, let the holder run.  A holder that
		 * died (killed mid-call) cannot unlock: take over. */
		if (kill((pid_t)held, 0) < 0 && errno == ESRCH)
			return;
		__atomic_store_n(&page->lock, held, __ATOMIC_RELEASE);
		sched_yield();
	}
}

static void trigger(void)
{
	if (page->transport == CC_HC_TRANSPORT_PIO) {
		__asm__ volatile("outb %%al, %%dx" ::"a"(0),
				 "d"((uint16_t)CC_PORT_HYPERCALL)
				 : "memory");
	} else {
		*(volatile uint32_t *)(bell + CC_DOORBELL_HYPERCALL) =
			CC_HC_TRIGGER;
	}
}

uint32_t cc_sdk_hypercall(uint32_t cmd, const void *payload, uint32_t len,
			  uint64_t *result)
{
	if (mode != CC_SDK_VM || len > CC_HC_PAYLOAD_MAX)
		return CC_HC_ELEN;
	lock_page();
	page->cmd = cmd;
	page->len = len;
	page->status = CC_HC_PENDING;
	memcpy((void *)page->payload, payload, len);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	trigger();
	uint32_t st = page->status;
	if (result)
		*result = page->result;
	__atomic_store_n(&page->lock, 0, __ATOMIC_RELEASE);
	return st;
}

static void emit(struct buf *b)
{
	if (b->overflow)
		return; /* a record we cannot send whole is not sent */
	if (mode == CC_SDK_VM) {
		cc_kcov_flush();
		cc_sdk_hypercall(CC_HC_JSON, b->p, (uint32_t)b->len, NULL);
	} else if (mode == CC_SDK_LOCAL) {
		b->p[b->len] = '\n';
		(void)!write(local_fd, b->p, b->len + 1);
		b->p[b->len] = 0;
	}
}

#define RECORD_MAX CC_HC_PAYLOAD_MAX

void cc_sdk_record(const char *json, uint32_t len)
{
	char mem[RECORD_MAX + 1];
	if (len > RECORD_MAX)
		return;
	memcpy(mem, json, len);
	mem[len] = 0;
	struct buf b = {mem, len, RECORD_MAX, false};
	emit(&b);
}

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
	if (mode != CC_SDK_NOOP)
		assert_record(s, false, true, NULL, NULL);
}

void cc_sdk_assert(struct cc_site *s, bool cond, const char *d)
{
	register_site(s);
	if (mode != CC_SDK_NOOP)
		assert_record(s, true, cond, NULL, d);
}

void cc_sdk_assert_cmp(struct cc_site *s, bool cond, double left, double right,
		       const char *d)
{
	register_site(s);
	if (mode == CC_SDK_NOOP)
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
	if (mode == CC_SDK_NOOP)
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

/* ---- randomness ------------------------------------------------------------
 */

uint64_t cc_get_random(void)
{
	uint64_t v = 0;
	if (mode == CC_SDK_VM &&
	    cc_sdk_hypercall(CC_HC_RANDOM, NULL, 0, &v) == CC_HC_OK)
		return v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)random() << 32 ^ (uint64_t)random();
	return v;
}

uint64_t cc_random_choice(uint64_t n)
{
	if (n == 0)
		return 0;
	struct cc_hc_choice c = {n};
	uint64_t v = 0;
	if (mode == CC_SDK_VM &&
	    cc_sdk_hypercall(CC_HC_CHOICE, &c, sizeof(c), &v) == CC_HC_OK &&
	    v < n)
		return v;
	return cc_get_random() % n;
}

void cc_sdk_flush(void)
{
	if (mode == CC_SDK_VM)
		cc_kcov_flush();
}

/* ---- start-up
 * ---------------------------------------------------------------- */

static void *map_phys(int fd, uint64_t gpa, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)gpa);
	return p == MAP_FAILED ? NULL : p;
}

/* The VMM's page, if this is a ChaosControl guest that speaks our
 * version; the coverage bitmap comes with it. */
static bool try_vm(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Look before writing: on anything but our guests this is some
	 * machine's low memory, and it is only read. */
	const volatile struct cc_hc_page *peek =
		mmap(NULL, CC_HYPERCALL_SIZE, PROT_READ, MAP_SHARED, fd,
		     (off_t)CC_HYPERCALL_GPA);
	bool ours = peek != MAP_FAILED && peek->magic == CC_HC_MAGIC &&
		    peek->version == CC_HC_VERSION;
	if (peek != MAP_FAILED)
		munmap((void *)peek, CC_HYPERCALL_SIZE);
	page = ours ? map_phys(fd, CC_HYPERCALL_GPA, CC_HYPERCALL_SIZE) : NULL;
	bool ok = page != NULL;
	if (ok && page->transport == CC_HC_TRANSPORT_PIO && iopl(3) < 0)
		ok = false; /* no port access: this guest cannot use PIO */
	if (ok && page->transport == CC_HC_TRANSPORT_MMIO) {
		bell = map_phys(fd, CC_DOORBELL_GPA, CC_DOORBELL_SIZE);
		ok = bell != NULL;
	}
	if (ok) {
		uint8_t *map = map_phys(fd, CC_COVERAGE_GPA, CC_COVERAGE_SIZE);
		if (map)
			cc_cov_attach(map);
	}
	close(fd);
	if (!ok && page) {
		munmap((void *)page, CC_HYPERCALL_SIZE);
		page = NULL;
	}
	return ok;
}

static bool try_local(void)
{
	const char *path = getenv("CHAOSCONTROL_SDK_LOCAL_OUTPUT");
	if (!path || !*path)
		path = getenv("ANTITHESIS_SDK_LOCAL_OUTPUT");
	if (!path || !*path)
		return false;
	local_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return local_fd >= 0;
}

/* The catalog: every site the linker gathered into section cc_sites. */
extern struct cc_site __start_cc_sites[] __attribute__((weak));
extern struct cc_site __stop_cc_sites[] __attribute__((weak));

__attribute__((constructor(101))) static void cc_sdk_init(void)
{
	mode = try_vm() ? CC_SDK_VM : try_local() ? CC_SDK_LOCAL : CC_SDK_NOOP;
	if (mode == CC_SDK_NOOP)
		return;
	char mem[256];
	struct buf b = {mem, 0, sizeof(mem) - 1, false};
	puts_(&b, "{\"antithesis_sdk\":{\"language\":{\"name\":\"C\","
		  "\"version\":\"C11\"},\"sdk_version\":\"" SDK_VERSION
		  "\",\"protocol_version\":\"1.1.0\"}}");
	emit(&b);
	if (mode == CC_SDK_VM) {
		cc_kcov_start();
		cc_sdk_hypercall(CC_HC_COVERAGE, NULL, 0, NULL);
		atexit(cc_sdk_flush);
	}
	for (struct cc_site *s = __start_cc_sites; s && s < __stop_cc_sites;
	     s++)
		register_site(s);
}
