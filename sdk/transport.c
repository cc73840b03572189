/*
 * libchaoscontrol, the transport: which mode the SDK runs in, the
 * hypercall page, records out, randomness in.  Shared by
 * libchaoscontrol.a and libvoidstar.so, so it uses no libc at all (only
 * sys.h); the assertion catalog and JSON building are in sdk.c, which
 * only libchaoscontrol.a carries.  See include/chaoscontrol/protocol.h
 * for the wire format.  Not instrumented (the hooks would recurse).
 */
#include <stdbool.h>
#include <stdint.h>

#include "chaoscontrol.h"
#include "chaoscontrol/protocol.h"
#include "sdk_internal.h"
#include "sys.h"

static enum cc_sdk_mode mode = CC_SDK_NOOP;
static volatile struct cc_hc_page *page;
static volatile uint8_t *bell;
static int local_fd = -1;

enum cc_sdk_mode cc_sdk_mode(void)
{
	return mode;
}

static void lock_page(void)
{
	unsigned me = (unsigned)cc_sys_getpid();
	for (;;) {
		unsigned held =
			__atomic_exchange_n(&page->lock, me, __ATOMIC_ACQUIRE);
		if (held == 0 || held == me)
			return;
		/* Held: put it back, let the holder run.  A holder that
		 * died (killed mid-call) cannot unlock: take over. */
		if (cc_sys_kill((long)held, 0) == -CC_ESRCH)
			return;
		__atomic_store_n(&page->lock, held, __ATOMIC_RELEASE);
		cc_sys_sched_yield();
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
	const uint8_t *src = payload;
	for (uint32_t i = 0; i < len; i++) /* volatile: no memcpy */
		page->payload[i] = src[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	trigger();
	uint32_t st = page->status;
	if (result)
		*result = page->result;
	__atomic_store_n(&page->lock, 0, __ATOMIC_RELEASE);
	return st;
}

void cc_sdk_emit(char *json, uint32_t len)
{
	if (mode == CC_SDK_VM) {
		cc_kcov_flush();
		cc_sdk_hypercall(CC_HC_JSON, json, len, NULL);
	} else if (mode == CC_SDK_LOCAL) {
		char keep = json[len];
		json[len] = '\n';
		(void)cc_sys_write(local_fd, json, len + 1);
		json[len] = keep;
	}
}

void cc_sdk_record(const char *json, uint32_t len)
{
	char mem[CC_HC_PAYLOAD_MAX + 1];
	if (len > CC_HC_PAYLOAD_MAX)
		return;
	for (uint32_t i = 0; i < len; i++)
		mem[i] = json[i];
	mem[len] = 0;
	cc_sdk_emit(mem, len);
}

/* ---- randomness ------------------------------------------------------ */

uint64_t cc_get_random(void)
{
	uint64_t v = 0;
	if (mode == CC_SDK_VM &&
	    cc_sdk_hypercall(CC_HC_RANDOM, NULL, 0, &v) == CC_HC_OK)
		return v;
	if (cc_sys_getrandom(&v, sizeof(v)) == sizeof(v))
		return v;
	/* No getrandom (old kernel, seccomp): still not constant. */
	static uint64_t x = 0x9e3779b97f4a7c15ull;
	x += 0x9e3779b97f4a7c15ull ^ (uint64_t)cc_sys_getpid();
	v = x;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
	return v ^ (v >> 31);
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

/* ---- start-up -------------------------------------------------------- */

static void *map_phys(int fd, uint64_t gpa, size_t len)
{
	return cc_sys_mmap(len, CC_PROT_READ | CC_PROT_WRITE, CC_MAP_SHARED, fd,
			   gpa);
}

/* The VMM's page, if this is a ChaosControl guest that speaks our
 * version; the coverage bitmap comes with it. */
static bool try_vm(void)
{
	long fd = cc_sys_open("/dev/mem", CC_O_RDWR | CC_O_SYNC | CC_O_CLOEXEC,
			      0);
	if (fd < 0)
		return false;
	/* Look before writing: on anything but our guests this is some
	 * machine's low memory, and it is only read. */
	const volatile struct cc_hc_page *peek =
		cc_sys_mmap(CC_HYPERCALL_SIZE, CC_PROT_READ, CC_MAP_SHARED,
			    (int)fd, CC_HYPERCALL_GPA);
	bool ours = peek && peek->magic == CC_HC_MAGIC &&
		    peek->version == CC_HC_VERSION;
	if (peek)
		cc_sys_munmap((void *)peek, CC_HYPERCALL_SIZE);
	page = ours ? map_phys((int)fd, CC_HYPERCALL_GPA, CC_HYPERCALL_SIZE)
		    : NULL;
	bool ok = page != NULL;
	if (ok && page->transport == CC_HC_TRANSPORT_PIO && cc_sys_iopl(3) < 0)
		ok = false; /* no port access: this guest cannot use PIO */
	if (ok && page->transport == CC_HC_TRANSPORT_MMIO) {
		bell = map_phys((int)fd, CC_DOORBELL_GPA, CC_DOORBELL_SIZE);
		ok = bell != NULL;
	}
	if (ok) {
		uint8_t *map =
			map_phys((int)fd, CC_COVERAGE_GPA, CC_COVERAGE_SIZE);
		if (map)
			cc_cov_attach(map);
	}
	cc_sys_close((int)fd);
	if (!ok && page) {
		cc_sys_munmap((void *)page, CC_HYPERCALL_SIZE);
		page = NULL;
	}
	return ok;
}

static bool try_local(void)
{
	const char *path = cc_sys_getenv("CHAOSCONTROL_SDK_LOCAL_OUTPUT");
	if (!path || !*path)
		path = cc_sys_getenv("ANTITHESIS_SDK_LOCAL_OUTPUT");
	if (!path || !*path)
		return false;
	long fd = cc_sys_open(
		path, CC_O_WRONLY | CC_O_CREAT | CC_O_APPEND | CC_O_CLOEXEC,
		0644);
	local_fd = (int)fd;
	return fd >= 0;
}

/* sdk.c's part of start-up: the SDK's own record first, the assertion
 * catalog last.  Weak: libvoidstar has no sdk.c, and its callers send
 * their own records. */
/* Hidden: never bound to another module's symbol of that name. */
#define WEAK __attribute__((weak, visibility("hidden")))
WEAK void cc_sdk_announce(void);
WEAK void cc_sdk_catalog(void);

__attribute__((constructor(101))) static void cc_sdk_init(void)
{
	mode = try_vm() ? CC_SDK_VM : try_local() ? CC_SDK_LOCAL : CC_SDK_NOOP;
	if (mode == CC_SDK_NOOP)
		return;
	if (cc_sdk_announce)
		cc_sdk_announce();
	if (mode == CC_SDK_VM) {
		cc_kcov_start();
		cc_sdk_hypercall(CC_HC_COVERAGE, NULL, 0, NULL);
	}
	if (cc_sdk_catalog)
		cc_sdk_catalog();
}

/* At exit (and at dlclose), what coverage is pending goes out. */
__attribute__((destructor)) static void cc_sdk_fini(void)
{
	cc_sdk_flush();
}
