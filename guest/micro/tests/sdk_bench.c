/*
 * Benchmark guest: 5000 SDK assertion hypercalls (one Antithesis-schema
 * JSON record each, as libchaoscontrol sends them), through the MMIO
 * doorbell.  bench/sdk_cost compares it with mmio_bench (the same number
 * of bare MMIO exits).
 */
#include "micro.h"

#define N 5000

static const char rec[] =
	"{\"antithesis_assert\":{\"hit\":true,\"must_hit\":true,"
	"\"assert_type\":\"always\",\"display_type\":\"Always\",\"message\":"
	"\"bench\",\"condition\":true,\"id\":\"0123456789abcdef\","
	"\"location\":{\"class\":\"\",\"function\":\"main\",\"file\":"
	"\"bench.c\",\"begin_line\":1,\"begin_column\":0},\"details\":{}}}";

void micro_main(void)
{
	volatile struct cc_hc_page *page =
		(volatile struct cc_hc_page *)CC_HYPERCALL_GPA;
	for (uint32_t i = 0; i < sizeof(rec) - 1; i++)
		page->payload[i] = (uint8_t)rec[i];
	for (int i = 0; i < N; i++) {
		page->cmd = CC_HC_JSON;
		page->len = sizeof(rec) - 1;
		*(volatile uint32_t *)(CC_DOORBELL_GPA +
				       CC_DOORBELL_HYPERCALL) = CC_HC_TRIGGER;
		RT_CHECK(page->status == CC_HC_OK);
	}
}
