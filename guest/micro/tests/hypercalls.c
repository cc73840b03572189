/*
 * The hypercall protocol from CPL3, well-formed and hostile: every
 * command, both transports (MMIO doorbell; port 0x510 through a kernel
 * call), bad magic, version, length, command and JSON.  Checks each
 * status the VMM answers, prints its random draws (for seeds and
 * overrides), and leaves a pattern of edges in the coverage bitmap.
 */
#include "micro.h"

static volatile struct cc_hc_page *const page =
	(volatile struct cc_hc_page *)CC_HYPERCALL_GPA;

static void copy(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		page->payload[i] = (uint8_t)s[i];
}

static uint32_t slen(const char *s)
{
	uint32_t n = 0;
	while (s[n])
		n++;
	return n;
}

static uint32_t call(uint32_t cmd, uint32_t len)
{
	page->cmd = cmd;
	page->len = len;
	page->status = CC_HC_PENDING;
	*(volatile uint32_t *)(CC_DOORBELL_GPA + CC_DOORBELL_HYPERCALL) =
		CC_HC_TRIGGER;
	return page->status;
}

static uint32_t json(const char *s)
{
	copy(s, slen(s));
	return call(CC_HC_JSON, slen(s));
}

static uint64_t choice(uint64_t n)
{
	struct cc_hc_choice c = {n};
	copy((const char *)&c, sizeof(c));
	RT_CHECK(call(CC_HC_CHOICE, sizeof(c)) == CC_HC_OK);
	RT_CHECK(page->result < n);
	return page->result;
}

void micro_main(void)
{
	RT_CHECK(page->magic == CC_HC_MAGIC);
	RT_CHECK(page->version == CC_HC_VERSION);
	RT_CHECK(page->transport == CC_HC_TRANSPORT_MMIO);
	RT_CHECK(call(CC_HC_NOP, 0) == CC_HC_OK);
	/* The port transport, from CPL0 (user port I/O faults on PVM). */
	page->cmd = CC_HC_NOP;
	page->len = 0;
	page->status = CC_HC_PENDING;
	rt_outb(CC_PORT_HYPERCALL, 0);
	RT_CHECK(page->status == CC_HC_OK);

	RT_CHECK(json("{\"antithesis_setup\":{\"status\":\"complete\","
		      "\"details\":{}}}") == CC_HC_OK);
	RT_CHECK(json("{\"antithesis_assert\":{\"hit\":true,\"must_hit\":"
		      "true,\"assert_type\":\"always\",\"display_type\":"
		      "\"Always\",\"message\":\"micro always\",\"condition\":"
		      "false,\"id\":\"micro-1\",\"location\":{\"file\":"
		      "\"hypercalls.c\",\"begin_line\":1},\"details\":{}}}") ==
		 CC_HC_OK);
	RT_CHECK(json("{\"tick\":{\"n\":1}}") == CC_HC_OK);

	/* Hostile payloads: each refused with its status, nothing kept. */
	RT_CHECK(json("{\"antithesis_assert\":") == CC_HC_EPAYLOAD);
	RT_CHECK(json("[1,2]") == CC_HC_EPAYLOAD);
	RT_CHECK(json("{\"a\":1,\"b\":2}") == CC_HC_EPAYLOAD);
	RT_CHECK(json("{\"antithesis_assert\":{\"hit\":1}}") == CC_HC_EPAYLOAD);
	RT_CHECK(json("{\"antithesis_assert\":{\"hit\":true,\"must_hit\":"
		      "true,\"assert_type\":\"often\",\"message\":\"m\","
		      "\"condition\":true,\"id\":\"x\"}}") == CC_HC_EPAYLOAD);
	RT_CHECK(call(CC_HC_JSON, CC_HC_PAYLOAD_MAX + 1) == CC_HC_ELEN);
	RT_CHECK(call(CC_HC_JSON, 0xffffffffu) == CC_HC_ELEN);
	RT_CHECK(call(77, 0) == CC_HC_ECMD);
	RT_CHECK(call(CC_HC_CHOICE, 4) == CC_HC_ELEN);
	struct cc_hc_choice zero = {0};
	copy((const char *)&zero, sizeof(zero));
	RT_CHECK(call(CC_HC_CHOICE, sizeof(zero)) == CC_HC_EPAYLOAD);
	page->version = 9;
	RT_CHECK(call(CC_HC_NOP, 0) == CC_HC_EVERSION);
	page->version = CC_HC_VERSION;
	page->magic = 0;
	RT_CHECK(call(CC_HC_NOP, 0) == CC_HC_EBADMAGIC);
	page->magic = CC_HC_MAGIC;

	/* Randomness: three choices and a raw draw. */
	uint64_t a = choice(10), b = choice(1000), c = choice(2);
	RT_CHECK(call(CC_HC_RANDOM, 0) == CC_HC_OK);
	rt_puts("choices ");
	rt_put_u64(a);
	rt_puts(" ");
	rt_put_u64(b);
	rt_puts(" ");
	rt_put_u64(c);
	rt_puts(" random ");
	rt_put_hex(page->result);
	rt_puts("\n");

	/* Coverage: edges that depend on the first choice. */
	volatile uint8_t *map = (volatile uint8_t *)CC_COVERAGE_GPA;
	for (uint64_t i = 0; i < 16 + a; i++)
		map[(i * 2654435761u + a) % CC_COVERAGE_SIZE]++;
	*(volatile uint32_t *)(CC_DOORBELL_GPA + CC_DOORBELL_COVERAGE) = 1;
	rt_puts("hypercalls ok\n");
}
