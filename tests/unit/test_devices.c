/* Legacy devices as pure state machines on virtual time. */
#include <criterion/criterion.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/uart.h"

static int irq_level[16];
static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	irq_level[irq] = level;
}

static void pit_program(struct cc_pit *p, uint8_t mode, uint16_t count,
			uint64_t now)
{
	cc_pit_write(p, CC_PORT_PIT_MODE, mode, now);
	cc_pit_write(p, CC_PORT_PIT_BASE, (uint8_t)count, now);
	cc_pit_write(p, CC_PORT_PIT_BASE, (uint8_t)(count >> 8), now);
}

Test(pit, periodic_deadlines_follow_virtual_time)
{
	struct cc_pit p;
	cc_pit_init(&p, (struct cc_irq_line){set_irq, NULL, 0});
	cr_assert_eq(cc_pit_deadline(&p), CC_PIT_NEVER);
	pit_program(&p, 0x34, 1193, 0); /* ~1 kHz, mode 2 */
	cc_pit_update(&p, 0);
	uint64_t d = cc_pit_deadline(&p);
	cr_assert(d > 999000 && d < 1001000, "first tick at ~1 ms: %lu",
		  (unsigned long)d);
	cc_pit_update(&p, d);
	uint64_t d2 = cc_pit_deadline(&p);
	cr_assert(d2 > d + 999000 && d2 < d + 1001000, "next at +1 ms");
}

Test(pit, latched_count_is_a_function_of_time)
{
	struct cc_pit a, b;
	cc_pit_init(&a, (struct cc_irq_line){0});
	cc_pit_init(&b, (struct cc_irq_line){0});
	pit_program(&a, 0x34, 0x1000, 0);
	pit_program(&b, 0x34, 0x1000, 0);
	cc_pit_write(&a, CC_PORT_PIT_MODE, 0x00, 500000);
	cc_pit_write(&b, CC_PORT_PIT_MODE, 0x00, 500000);
	uint16_t ca = cc_pit_read(&a, CC_PORT_PIT_BASE, 1);
	ca |= (uint16_t)(cc_pit_read(&a, CC_PORT_PIT_BASE, 2) << 8);
	uint16_t cb = cc_pit_read(&b, CC_PORT_PIT_BASE, 900);
	cb |= (uint16_t)(cc_pit_read(&b, CC_PORT_PIT_BASE, 999) << 8);
	cr_assert_eq(ca, cb, "a latch freezes the count");
	/* 0.5 ms = 596 PIT clocks into a 4096 period. */
	cr_assert_eq(ca, 0x1000 - 596);
}

Test(pic, remaps_and_acknowledges)
{
	struct cc_pic p;
	cc_pic_init(&p);
	uint8_t icw[] = {0x11, 0x20, 0x04, 0x01};
	cc_pic_write(&p, CC_PORT_PIC1, icw[0]);
	for (int i = 1; i < 4; i++)
		cc_pic_write(&p, CC_PORT_PIC1 + 1, icw[i]);
	cc_pic_write(&p, CC_PORT_PIC1 + 1, 0xfe); /* only IRQ 0 */
	cc_pic_set_irq(&p, 4, 1);
	cr_assert(!cc_pic_pending(&p), "masked IRQ 4 stays quiet");
	cc_pic_set_irq(&p, 0, 1);
	cr_assert(cc_pic_pending(&p));
	cr_assert_eq(cc_pic_ack(&p), 0x20);
	cr_assert(!cc_pic_pending(&p), "in service until EOI");
	cc_pic_set_irq(&p, 0, 0);
	cc_pic_set_irq(&p, 0, 1);
	cr_assert(!cc_pic_pending(&p), "same level blocked by ISR");
	cc_pic_write(&p, CC_PORT_PIC1, 0x20); /* EOI */
	cr_assert(cc_pic_pending(&p));
}

Test(rtc, fixed_epoch_plus_virtual_time)
{
	struct cc_rtc r;
	cc_rtc_init(&r, CC_RTC_DEFAULT_EPOCH);
	/* 2025-01-01 00:00:00 + 3725.5 s = 01:02:05, BCD. */
	uint64_t now = 3725500000000ull / 1000;
	uint8_t regs[] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
	uint8_t want[] = {0x05, 0x02, 0x01, 0x01, 0x01, 0x25, 0x20};
	for (size_t i = 0; i < sizeof(regs); i++) {
		cc_rtc_write(&r, 0, regs[i]);
		cr_assert_eq(cc_rtc_read(&r, 1, now * 1000), want[i],
			     "register %#x", regs[i]);
	}
	cc_rtc_write(&r, 0, 0x0a);
	cr_assert_eq(cc_rtc_read(&r, 1, 0) & 0x80, 0, "never updating");
	cc_rtc_write(&r, 0, 0x0b);
	cc_rtc_write(&r, 1, 0x06); /* binary, 24 h */
	cc_rtc_write(&r, 0, 0x00);
	cr_assert_eq(cc_rtc_read(&r, 1, now * 1000), 5);
}

/* A restart sends the virtual clock back to its boot value; the wall
 * clock goes on from where it was, to the nanosecond. */
Test(rtc, a_restart_carries_the_wall_clock_on)
{
	struct cc_rtc r;
	cc_rtc_init(&r, CC_RTC_DEFAULT_EPOCH);
	uint64_t epoch = CC_RTC_DEFAULT_EPOCH * 1000000000ull;
	cr_assert_eq(cc_rtc_wall_ns(&r, 5), epoch + 5);
	uint64_t was = cc_rtc_wall_ns(&r, 7200000000123ull); /* 2 h in */
	cc_rtc_carry(&r, was, 10000000);		     /* back at 10 ms */
	cr_assert_eq(cc_rtc_wall_ns(&r, 10000000), was);
	cr_assert_eq(cc_rtc_wall_ns(&r, 10000001), was + 1);
	cc_rtc_write(&r, 0, 0x04);
	cr_assert_eq(cc_rtc_read(&r, 1, 10000000), 0x02, "02:00, BCD");
	cc_rtc_carry(&r, epoch, 10000000); /* never before the epoch */
	cr_assert_eq(cc_rtc_wall_ns(&r, 10000000), epoch + 10000000);
}

static char out[64];
static size_t nout;
static void put(void *ctx, uint8_t b)
{
	(void)ctx;
	out[nout++] = (char)b;
}

Test(uart, transmits_and_raises_thre)
{
	struct cc_uart u;
	memset(irq_level, 0, sizeof(irq_level));
	cc_uart_init(&u, (struct cc_irq_line){set_irq, NULL, CC_IRQ_COM1}, put,
		     NULL);
	cc_uart_write(&u, 0, 'h');
	cc_uart_write(&u, 0, 'i');
	cr_assert_eq(nout, 2);
	cr_assert_eq(memcmp(out, "hi", 2), 0);
	cr_assert(cc_uart_read(&u, 5) & 0x20, "THR always empty");
	cc_uart_write(&u, 1, 0x02); /* IER: THRE interrupt */
	cr_assert_eq(irq_level[CC_IRQ_COM1], 1);
	cr_assert_eq(cc_uart_read(&u, 2) & 0x0f, 0x02, "IIR says THRE");
	cr_assert_eq(irq_level[CC_IRQ_COM1], 0, "IIR read clears it");
}

#include "base/entropy.h"

Test(entropy, same_seed_same_stream_any_chunking)
{
	struct cc_entropy a, b;
	cc_entropy_init(&a, 42);
	cc_entropy_init(&b, 42);
	uint8_t x[300], y[300];
	cc_entropy_fill(&a, x, sizeof(x));
	/* Same bytes whether read in one piece or in odd-sized pieces. */
	size_t sizes[] = {1, 63, 64, 65, 7, 100};
	size_t at = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cc_entropy_fill(&b, y + at, sizes[i]);
		at += sizes[i];
	}
	cr_assert_eq(at, sizeof(y));
	cr_assert_eq(memcmp(x, y, sizeof(x)), 0);
	cr_assert_eq(a.pos, 300);
}

Test(entropy, seeds_and_domains_differ)
{
	struct cc_entropy a, b, c;
	cc_entropy_init(&a, 1);
	cc_entropy_init(&b, 2);
	cc_entropy_init(&c, cc_seed_for_vm(1, 1));
	uint64_t va = cc_entropy_u64(&a), vb = cc_entropy_u64(&b);
	cr_assert_neq(va, vb);
	cr_assert_eq(cc_entropy_u64(&c), vb, "VM 1 of seed 1 = seed 2");
	/* Position is the whole state: restoring it continues the stream. */
	struct cc_entropy saved = a;
	uint64_t next = cc_entropy_u64(&a);
	cr_assert_eq(cc_entropy_u64(&saved), next);
}

#include "replay/divergence.h"

Test(divergence, finds_first_difference_and_prefix)
{
	struct cc_trace_record a[4], b[4];
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 4; i++)
		a[i].ev = (struct cc_event){(uint64_t)i * 1000, CC_EV_PIO_OUT,
					    1, 0x3f8, 'a' + (uint64_t)i};
	memcpy(b, a, sizeof(a));
	struct cc_divergence d;
	cc_divergence_find(a, 4, b, 4, &d);
	cr_assert(d.identical);
	b[2].rip = 0x1234; /* RIPs are diagnosis, not identity */
	cc_divergence_find(a, 4, b, 4, &d);
	cr_assert(d.identical);
	b[2].ev.b = 'z';
	cc_divergence_find(a, 4, b, 4, &d);
	cr_assert(!d.identical);
	cr_assert_eq(d.index, 2);
	cc_divergence_find(a, 4, a, 3, &d);
	cr_assert(!d.identical, "a prefix is not identical");
	cr_assert_eq(d.index, 3);
}
