/*
 * Fuzz target: the legacy devices as the guest drives them.  Every port
 * write and read the guest can make, in any order, at any virtual time,
 * goes to the PIC, PIT, UART and RTC models, and the page-table walker
 * reads guest-written tables.  Nothing may crash or read out of bounds.
 *
 * With a first byte of 0xfe, the devices start from a restored state
 * instead (the bytes that follow, laid over each device's saved state
 * as a snapshot file's are): a state its check accepts must then be as
 * safe under guest traffic as one the guest reached.
 *
 * Input: [0xfe, state...] a sequence of 5-byte commands (op, port low
 * byte, value, time step), then the rest as guest memory for the page
 * walk.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "base/mem.h"

static struct cc_pic pic;

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	cc_pic_set_irq(&pic, irq, level);
}

static void out(void *ctx, uint8_t b)
{
	(void)ctx;
	(void)b;
}

static void port_io(struct cc_pit *pit, struct cc_uart *uart,
		    struct cc_rtc *rtc, const uint8_t *c, uint64_t now)
{
	int write = c[0] & 1;
	uint8_t v = c[2];
	switch (c[0] >> 1 & 7) {
	case 0: /* PIC */
		if (write)
			cc_pic_write(&pic,
				     c[1] & 0x80 ? CC_PORT_PIC2 + (c[1] & 1)
						 : CC_PORT_PIC1 + (c[1] & 1),
				     v);
		else
			cc_pic_read(&pic, CC_PORT_PIC1 + (c[1] & 1));
		break;
	case 1: /* PIT */
		if (write)
			cc_pit_write(pit, CC_PORT_PIT_BASE + (c[1] & 3), v,
				     now);
		else
			cc_pit_read(pit, CC_PORT_PIT_BASE + (c[1] & 3), now);
		break;
	case 2:
		if (write)
			cc_pit_write_speaker(pit, v, now);
		else
			cc_pit_read_speaker(pit, now);
		break;
	case 3: /* UART */
		if (write)
			cc_uart_write(uart, c[1] & 7, v);
		else
			cc_uart_read(uart, c[1] & 7);
		break;
	case 4: /* RTC */
		if (write)
			cc_rtc_write(rtc, c[1] & 1, v);
		else
			cc_rtc_read(rtc, c[1] & 1, now);
		break;
	default: /* the CPU side of the PIC */
		cc_pit_update(pit, now);
		if (cc_pic_pending(&pic))
			cc_pic_ack(&pic);
	}
}

/* Lays data over the devices' saved states (as cc_vm_state_load
 * does); how many bytes it took, or 0 when a check refuses the state. */
static size_t restore(struct cc_pit *pit, struct cc_uart *uart,
		      struct cc_rtc *rtc, const uint8_t *data, size_t len)
{
	size_t lens[] = {sizeof(pic), sizeof(pit->s), sizeof(uart->s),
			 sizeof(*rtc)};
	void *dst[] = {&pic, &pit->s, &uart->s, rtc};
	size_t at = 0;
	for (unsigned k = 0; k < 4; k++) {
		if (len - at < lens[k])
			return 0;
		memcpy(dst[k], data + at, lens[k]);
		at += lens[k];
	}
	if (cc_pic_state_check(&pic) || cc_pit_state_check(&pit->s) ||
	    cc_uart_state_check(&uart->s) || cc_rtc_state_check(rtc))
		return 0;
	return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct cc_pit pit;
	struct cc_uart uart;
	struct cc_rtc rtc;
	cc_pic_init(&pic);
	cc_pit_init(&pit, (struct cc_irq_line){set_irq, NULL, CC_IRQ_PIT});
	cc_uart_init(&uart, (struct cc_irq_line){set_irq, NULL, CC_IRQ_COM1},
		     out, NULL);
	cc_rtc_init(&rtc, CC_RTC_DEFAULT_EPOCH);
	uint64_t now = 0;
	size_t i = 0;
	if (len && data[0] == 0xfe) {
		size_t took = restore(&pit, &uart, &rtc, data + 1, len - 1);
		if (!took)
			return 0;
		i = 1 + took;
	}
	for (; i + 5 <= len && data[i] != 0xff; i += 5) {
		now += (uint64_t)data[i + 3] << (data[i + 4] & 31);
		port_io(&pit, &uart, &rtc, data + i, now);
	}
	/* The rest is a tiny guest RAM with page tables the guest wrote. */
	static struct cc_mem mem;
	struct cc_err err;
	if (!mem.host && cc_mem_init(&mem, CC_MEM_MIN, &err))
		return 0;
	size_t rest = len - i < 65536 ? len - i : 65536;
	memcpy(mem.host, data + i, rest);
	uint64_t gpa, cr3 = 0;
	if (rest >= 8)
		memcpy(&cr3, data + i, 8);
	cc_mem_translate(&mem, cr3 & ~0xfffull, cr3 ^ 0xffff800000001000ull,
			 &gpa);
	memset(mem.host, 0, rest);
	return 0;
}
