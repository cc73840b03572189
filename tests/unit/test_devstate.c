/*
 * Device state as snapshots carry it, without KVM: every device's saved
 * state goes out and back in (the copy answers the guest as the original
 * does), states no device could reach are refused by name, and the VM's
 * blob of versioned sections (devtab.c) names what does not match.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "vmm/devtab.h"
#include "vmm/exit.h"
#include "vmm/snapfile.h"
#include "vmm/vm.h"

static void no_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx, (void)irq, (void)level;
}
static void no_out(void *ctx, uint8_t b)
{
	(void)ctx, (void)b;
}
#define LINE(n) ((struct cc_irq_line){no_irq, NULL, n})

/* ---- each device: save, load into a fresh one, same answers --------- */

Test(devstate, pit_round_trip_counts_on_alike)
{
	struct cc_pit a, b;
	cc_pit_init(&a, LINE(0));
	cc_pit_write(&a, CC_PORT_PIT_MODE, 0x34, 0); /* ch 0, mode 2 */
	cc_pit_write(&a, CC_PORT_PIT_BASE, 0x00, 0);
	cc_pit_write(&a, CC_PORT_PIT_BASE, 0x10, 0);
	cc_pit_write(&a, CC_PORT_PIT_MODE, 0xb6, 10); /* ch 2, mode 3 */
	cc_pit_write(&a, CC_PORT_PIT_BASE + 2, 0x34, 10);
	cc_pit_write_speaker(&a, 0x03, 20);
	cc_pit_write(&a, CC_PORT_PIT_MODE, 0x00, 30); /* latch ch 0 */
	cr_assert_null(cc_pit_state_check(&a.s));
	cc_pit_init(&b, LINE(0));
	memcpy(&b.s, &a.s, sizeof(a.s));
	cr_assert_eq(memcmp(&a.s, &b.s, sizeof(a.s)), 0);
	cr_assert_eq(cc_pit_deadline(&a), cc_pit_deadline(&b));
	for (uint64_t t = 40; t < 4000000; t += 333333) {
		cr_assert_eq(cc_pit_read(&a, CC_PORT_PIT_BASE, t),
			     cc_pit_read(&b, CC_PORT_PIT_BASE, t));
		cr_assert_eq(cc_pit_read(&a, CC_PORT_PIT_BASE + 2, t),
			     cc_pit_read(&b, CC_PORT_PIT_BASE + 2, t));
		cr_assert_eq(cc_pit_read_speaker(&a, t),
			     cc_pit_read_speaker(&b, t));
		cc_pit_update(&a, t);
		cc_pit_update(&b, t);
		cr_assert_eq(cc_pit_deadline(&a), cc_pit_deadline(&b));
	}
}

Test(devstate, uart_round_trip_answers_alike)
{
	struct cc_uart a, b;
	cc_uart_init(&a, LINE(4), no_out, NULL);
	cc_uart_write(&a, 3, 0x83); /* DLAB */
	cc_uart_write(&a, 0, 0x01);
	cc_uart_write(&a, 3, 0x03);
	cc_uart_write(&a, 7, 0x5a); /* scratch */
	cc_uart_write(&a, 1, 0x02); /* THRE interrupt on */
	cr_assert_null(cc_uart_state_check(&a.s));
	cc_uart_init(&b, LINE(4), no_out, NULL);
	memcpy(&b.s, &a.s, sizeof(a.s));
	for (unsigned off = 0; off < 8; off++)
		cr_assert_eq(cc_uart_read(&a, off), cc_uart_read(&b, off),
			     "register %u", off);
	cr_assert_eq(memcmp(&a.s, &b.s, sizeof(a.s)), 0);
}

Test(devstate, pic_round_trip_delivers_alike)
{
	struct cc_pic a, b;
	cc_pic_init(&a);
	static const uint8_t icw[][2] = {{0x20, 0x11},
					 {0x21, 0x30},
					 {0x21, 0x04},
					 {0x21, 0x01},
					 {0x21, 0xf8}};
	for (unsigned i = 0; i < 5; i++)
		cc_pic_write(&a, icw[i][0], icw[i][1]);
	cc_pic_set_irq(&a, 1, 1);
	cr_assert_null(cc_pic_state_check(&a));
	memcpy(&b, &a, sizeof(a));
	cr_assert_eq(cc_pic_pending(&a), cc_pic_pending(&b));
	cr_assert_eq(cc_pic_ack(&a), cc_pic_ack(&b));
	cr_assert_eq(cc_pic_read(&a, 0x21), cc_pic_read(&b, 0x21));
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

Test(devstate, rtc_round_trip_tells_the_same_time)
{
	struct cc_rtc a, b;
	cc_rtc_init(&a, CC_RTC_DEFAULT_EPOCH);
	cc_rtc_write(&a, 0, 0x0e); /* a CMOS byte past the clock */
	cc_rtc_write(&a, 1, 0x77);
	cc_rtc_write(&a, 0, 0x00);
	cr_assert_null(cc_rtc_state_check(&a));
	memcpy(&b, &a, sizeof(a));
	uint64_t t = 3723000000000ull; /* 1 h 2 min 3 s in */
	for (unsigned reg = 0; reg < 10; reg++) {
		cc_rtc_write(&a, 0, (uint8_t)reg);
		cc_rtc_write(&b, 0, (uint8_t)reg);
		cr_assert_eq(cc_rtc_read(&a, 1, t), cc_rtc_read(&b, 1, t));
	}
	cr_assert_eq(cc_rtc_wall_ns(&a, t), cc_rtc_wall_ns(&b, t));
}

/* ---- states no device could reach ----------------------------------- */

Test(devstate, unreachable_device_states_are_refused)
{
	struct cc_pit p;
	cc_pit_init(&p, LINE(0));
	p.s.ch[1].mode = 7;
	cr_assert_not_null(cc_pit_state_check(&p.s));
	cc_pit_init(&p, LINE(0));
	memset(&p.s.speaker_data, 2, 1);
	cr_assert_str_eq(cc_pit_state_check(&p.s),
			 "PIT flag that is neither 0 nor 1");

	struct cc_uart u;
	cc_uart_init(&u, LINE(4), no_out, NULL);
	u.s.line = 2;
	cr_assert_str_eq(cc_uart_state_check(&u.s),
			 "UART interrupt state out of range");

	struct cc_rtc r;
	cc_rtc_init(&r, 0);
	r.index = 128;
	cr_assert_str_eq(cc_rtc_state_check(&r),
			 "RTC register index out of range");

	struct cc_pic c;
	cc_pic_init(&c);
	c.chip[1].init_state = 4;
	cr_assert_not_null(cc_pic_state_check(&c));
}

/* ---- the VM's blob ---------------------------------------------------- */

/* A VM with its devices set up and no KVM (cc_vm_create_bare). */
static struct cc_vm *devices_only(uint64_t seed)
{
	struct cc_vm_config cfg = {
		.seed = seed, .vm_index = 1, .serial_fd = -1};
	struct cc_vm *vm;
	struct cc_err err;
	cr_assert_eq(cc_vm_create_bare(&vm, &cfg, &err), 0, "%s", err.msg);
	return vm;
}

static void drop(struct cc_vm *vm)
{
	cc_vm_destroy(vm);
}

static uint8_t *saved(const struct cc_vm *vm)
{
	uint8_t *blob = malloc(cc_vm_state_size());
	cr_assert(blob);
	cc_vm_state_save(vm, blob);
	return blob;
}

#define PAD8(n) (((n) + 7) & ~(size_t)7)
#define HDR	CC_VM_SECTION_HEADER

/* Where row `name`'s section begins in a blob. */
static size_t section_at(const char *name)
{
	size_t n, at = 0;
	const struct cc_vm_device *d = cc_vm_devices(&n);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(d[i].name, name))
			return at;
		at += CC_VM_SECTION_HEADER + PAD8(d[i].len);
	}
	cr_assert_fail("no row %s", name);
	return 0;
}

Test(devstate, vm_blob_round_trips_through_another_vm)
{
	struct cc_vm *a = devices_only(7), *b = devices_only(99);
	cc_pit_write(&a->pit, CC_PORT_PIT_MODE, 0x34, 0);
	cc_rtc_write(&a->rtc, 0, 0x0c);
	a->stats.ready_rings = 3;
	a->halt.pending = 1;
	uint8_t *blob = saved(a);
	cr_assert_null(cc_vm_state_check(b, blob));
	cc_vm_state_load(b, blob);
	uint8_t *again = saved(b);
	cr_assert_eq(memcmp(blob, again, cc_vm_state_size()), 0,
		     "a loaded VM saves what it loaded");
	/* Its streams go on from the same point: same words next. */
	cr_assert_eq(cc_entropy_u64(&a->entropy), cc_entropy_u64(&b->entropy));
	cr_assert_eq(cc_entropy_u64(&a->rng.stream),
		     cc_entropy_u64(&b->rng.stream));
	free(blob);
	free(again);
	drop(a);
	drop(b);
}

/* Each way a section can disagree with this build is named. */
Test(devstate, vm_blob_mismatches_are_named)
{
	struct cc_vm *vm = devices_only(7);
	uint8_t *blob = saved(vm);
	size_t pit = section_at("pit"), rtc = section_at("rtc");

	blob[pit] = 'q';
	cr_assert_str_eq(cc_vm_state_check(vm, blob),
			 "pit: section holds \"qit\" instead");
	blob[pit] = 'p';

	uint16_t v = CC_PIT_STATE_VERSION + 1;
	memcpy(blob + pit + 12, &v, 2);
	char want[96];
	snprintf(want, sizeof(want),
		 "pit: state version %u, this build reads %u", v,
		 CC_PIT_STATE_VERSION);
	cr_assert_str_eq(cc_vm_state_check(vm, blob), want);
	v = CC_PIT_STATE_VERSION;
	memcpy(blob + pit + 12, &v, 2);

	uint32_t len = (uint32_t)sizeof(struct cc_pit_state) - 8;
	memcpy(blob + pit + 16, &len, 4);
	snprintf(want, sizeof(want),
		 "pit: state of %u bytes, this build's is %zu", len,
		 sizeof(struct cc_pit_state));
	cr_assert_str_eq(cc_vm_state_check(vm, blob), want);
	len = (uint32_t)sizeof(struct cc_pit_state);
	memcpy(blob + pit + 16, &len, 4);

	blob[rtc + HDR + offsetof(struct cc_rtc, index)] = 200;
	cr_assert_str_eq(cc_vm_state_check(vm, blob),
			 "rtc: RTC register index out of range");
	blob[rtc + HDR + offsetof(struct cc_rtc, index)] = 0;
	cr_assert_null(cc_vm_state_check(vm, blob));

	size_t uart = section_at("uart") + HDR;
	cr_assert_neq(sizeof(struct cc_uart_state) % 8, 0, "uart has padding");
	blob[uart + sizeof(struct cc_uart_state)] = 1;
	cr_assert_str_eq(cc_vm_state_check(vm, blob),
			 "uart: padding that is not zero");
	blob[uart + sizeof(struct cc_uart_state)] = 0;

	/* A blob at an odd address (inside a file's buffer) reads alike. */
	uint8_t *odd = malloc(cc_vm_state_size() + 1);
	cr_assert(odd);
	memcpy(odd + 1, blob, cc_vm_state_size());
	cr_assert_null(cc_vm_state_check(vm, odd + 1));
	odd[1 + rtc + HDR + offsetof(struct cc_rtc, index)] = 200;
	cr_assert_str_eq(cc_vm_state_check(vm, odd + 1),
			 "rtc: RTC register index out of range");
	free(odd);
	free(blob);
	drop(vm);
}

/* The layout names every row with its version and fits the snapshot
 * file's header field, which compares it whole. */
Test(devstate, layout_names_every_section_and_fits_its_field)
{
	const char *l = cc_vm_state_layout();
	struct cc_snapfile_header h;
	cr_assert_lt(strlen(l), sizeof(h.layout), "%zu chars: %s", strlen(l),
		     l);
	size_t n, sum = 0;
	const struct cc_vm_device *d = cc_vm_devices(&n);
	for (size_t i = 0; i < n; i++) {
		char part[48];
		snprintf(part, sizeof(part), "%s.%u:%zu", d[i].name,
			 d[i].version, d[i].len);
		cr_assert(strstr(l, part), "%s not in %s", part, l);
		cr_assert_lt(strlen(d[i].name), 12, "%s", d[i].name);
		sum += HDR + PAD8(d[i].len);
	}
	cr_assert_eq(sum, cc_vm_state_size());
}

/* The guest's ports and pages reach the device the table says. */
Test(devstate, ports_and_pages_reach_their_rows)
{
	struct cc_vm *vm = devices_only(7);
	cr_assert_str_eq(cc_vm_device_at_port(CC_PORT_COM1 + 5)->name, "uart");
	cr_assert_str_eq(cc_vm_device_at_port(CC_PORT_SPEAKER)->name, "pit");
	cr_assert_str_eq(cc_vm_device_at_port(CC_PORT_PIT_MODE)->name, "pit");
	cr_assert_str_eq(cc_vm_device_at_port(CC_PORT_PIC2 + 1)->name, "pic");
	cr_assert_str_eq(cc_vm_device_at_port(CC_PORT_RTC + 1)->name, "rtc");
	cr_assert_null(cc_vm_device_at_port(CC_PORT_RTC + 2));
	cr_assert_null(cc_vm_device_at_port(0x80));
	cr_assert_eq(cc_vm_virtio_at(vm, CC_VIRTIO_NET_GPA + 0x50), &vm->net.t);
	cr_assert_eq(cc_vm_virtio_at(vm, CC_VIRTIO_IMG_GPA), &vm->img.t);
	cr_assert_null(cc_vm_virtio_at(vm, CC_VIRTIO_BLK_GPA),
		       "no data disk, no device on its page");
	drop(vm);
}

/* A reseed reaches every stream the table names, the same way twice. */
Test(devstate, reseed_reaches_every_stream)
{
	struct cc_vm *a = devices_only(7), *b = devices_only(8);
	uint8_t *before = saved(a);
	cc_vm_devices_reseed(a, 1234);
	cc_vm_devices_reseed(b, 1234);
	uint8_t *x = saved(a), *y = saved(b);
	size_t e = section_at("entropy") + HDR,
	       r = section_at("rng-stream") + HDR;
	cr_assert_neq(memcmp(before + e, x + e, sizeof(struct cc_entropy)), 0);
	cr_assert_eq(memcmp(x + e, y + e, sizeof(struct cc_entropy)), 0);
	cr_assert_eq(memcmp(x + r, y + r, sizeof(struct cc_entropy)), 0);
	free(before);
	free(x);
	free(y);
	drop(a);
	drop(b);
}
