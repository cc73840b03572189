#include "devtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "console.h"
#include "vm.h"

static void pic_irq(void *ctx, unsigned irq, int level)
{
	cc_pic_set_irq(&((struct cc_vm *)ctx)->pic, irq, level);
}

static struct cc_irq_line line(struct cc_vm *vm, unsigned irq)
{
	return (struct cc_irq_line){pic_irq, vm, irq};
}

/* ---- the legacy devices -------------------------------------------- */

static int pic_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)cfg, (void)err;
	cc_pic_init(&vm->pic);
	return 0;
}
static const char *pic_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_pic_state_check(s);
}
static uint8_t pic_read(struct cc_vm *vm, uint16_t port)
{
	return cc_pic_read(&vm->pic, port);
}
static void pic_write(struct cc_vm *vm, uint16_t port, uint8_t val)
{
	cc_pic_write(&vm->pic, port, val);
}

static int pit_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)cfg, (void)err;
	cc_pit_init(&vm->pit, line(vm, CC_IRQ_PIT));
	return 0;
}
static const char *pit_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_pit_state_check(s);
}
/* Port 0x61 (the speaker gate) belongs to the PIT: channel 2's gate. */
static uint8_t pit_read(struct cc_vm *vm, uint16_t port)
{
	return port == CC_PORT_SPEAKER
		       ? cc_pit_read_speaker(&vm->pit, vm->vclock.ns)
		       : cc_pit_read(&vm->pit, port, vm->vclock.ns);
}
static void pit_write(struct cc_vm *vm, uint16_t port, uint8_t val)
{
	if (port == CC_PORT_SPEAKER)
		cc_pit_write_speaker(&vm->pit, val, vm->vclock.ns);
	else
		cc_pit_write(&vm->pit, port, val, vm->vclock.ns);
}

static int uart_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		     struct cc_err *err)
{
	(void)cfg, (void)err;
	cc_uart_init(&vm->uart, line(vm, CC_IRQ_COM1), cc_vm_serial_out, vm);
	return 0;
}
static const char *uart_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_uart_state_check(s);
}
static uint8_t uart_read(struct cc_vm *vm, uint16_t port)
{
	return cc_uart_read(&vm->uart, port - CC_PORT_COM1);
}
static void uart_write(struct cc_vm *vm, uint16_t port, uint8_t val)
{
	cc_uart_write(&vm->uart, port - CC_PORT_COM1, val);
}

static int rtc_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)err;
	cc_rtc_init(&vm->rtc,
		    cfg->rtc_epoch_s ? cfg->rtc_epoch_s : CC_RTC_DEFAULT_EPOCH);
	return 0;
}
static const char *rtc_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_rtc_state_check(s);
}
static uint8_t rtc_read(struct cc_vm *vm, uint16_t port)
{
	return cc_rtc_read(&vm->rtc, port - CC_PORT_RTC, vm->vclock.ns);
}
static void rtc_write(struct cc_vm *vm, uint16_t port, uint8_t val)
{
	cc_rtc_write(&vm->rtc, port - CC_PORT_RTC, val);
}

/* The doorbell's entropy port and every SDK random answer. */
static int entropy_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
			struct cc_err *err)
{
	(void)err;
	cc_entropy_init(&vm->entropy, cc_seed_for_vm(cfg->seed, cfg->vm_index));
	return 0;
}
static void entropy_reseed(struct cc_vm *vm, uint64_t vm_seed)
{
	cc_entropy_init(&vm->entropy, vm_seed);
}

/* ---- the virtio devices -------------------------------------------- */

/* Without a data disk, virtio-blk is never wired (its ops are NULL): its
 * page floats and its saved bytes are the zeroes it started as. */
static int blk_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	if (!cfg->disk_path)
		return 0;
	if (cc_virtio_blk_init(&vm->blk, &vm->mem, line(vm, CC_IRQ_VIRTIO_BLK),
			       cfg->disk_path,
			       cc_seed_for_vm(cfg->seed, cfg->vm_index), err))
		return -1;
	vm->has_disk = true;
	return 0;
}
static struct cc_virtio_mmio *blk_virtio(struct cc_vm *vm)
{
	return vm->has_disk ? &vm->blk.t : NULL;
}
static const char *blk_check(const struct cc_vm *vm, const void *s)
{
	return vm->has_disk ? cc_virtio_mmio_state_check(&vm->blk.t, s) : NULL;
}
/* The data disk's fault stream (torn writes, errors). */
static void disk_reseed(struct cc_vm *vm, uint64_t vm_seed)
{
	if (vm->has_disk)
		cc_entropy_init(&vm->blk.disk.st.rng, vm_seed + CC_DOMAIN_DISK);
}
static const char *disk_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_disk_state_check(s);
}
static void blk_free(struct cc_vm *vm)
{
	cc_virtio_blk_free(&vm->blk);
}

static int net_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)err;
	cc_virtio_net_init(&vm->net, &vm->mem, line(vm, CC_IRQ_VIRTIO_NET),
			   cfg->vm_index);
	return 0;
}
static struct cc_virtio_mmio *net_virtio(struct cc_vm *vm)
{
	return &vm->net.t;
}
static const char *net_check(const struct cc_vm *vm, const void *s)
{
	return cc_virtio_mmio_state_check(&vm->net.t, s);
}
static const char *port_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	return cc_net_port_check(s);
}

static int rng_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)err;
	cc_virtio_rng_init(&vm->rng, &vm->mem, line(vm, CC_IRQ_VIRTIO_RNG),
			   cc_seed_for_vm(cfg->seed, cfg->vm_index));
	return 0;
}
static struct cc_virtio_mmio *rng_virtio(struct cc_vm *vm)
{
	return &vm->rng.t;
}
static const char *rng_check(const struct cc_vm *vm, const void *s)
{
	return cc_virtio_mmio_state_check(&vm->rng.t, s);
}
static void rng_reseed(struct cc_vm *vm, uint64_t vm_seed)
{
	cc_virtio_rng_reseed(&vm->rng, vm_seed);
}

/* The image disk's contents are the image file's, fixed for the run: a
 * reseed leaves its stream alone, as it always has. */
static int img_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err)
{
	(void)err;
	cc_virtio_blk_init_image(&vm->img, &vm->mem,
				 line(vm, CC_IRQ_VIRTIO_IMG),
				 cc_seed_for_vm(cfg->seed, cfg->vm_index));
	return 0;
}
static struct cc_virtio_mmio *img_virtio(struct cc_vm *vm)
{
	return &vm->img.t;
}
static const char *img_check(const struct cc_vm *vm, const void *s)
{
	return cc_virtio_mmio_state_check(&vm->img.t, s);
}
static void img_free(struct cc_vm *vm)
{
	cc_virtio_blk_free(&vm->img);
}

/* ---- the VM's own parts -------------------------------------------- */

static const char *halt_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	const struct cc_vm_halt *h = s;
	return h->pending > 1 ? "halt flag out of range" : NULL;
}
static const char *image_check(const struct cc_vm *vm, const void *s)
{
	(void)vm;
	const struct cc_vm_image *i = s;
	return i->on > 1 ? "image flag out of range" : NULL;
}

/* ---- the table ------------------------------------------------------ */

#define STATE(field)                                                           \
	offsetof(struct cc_vm, field), sizeof(((struct cc_vm *)0)->field)

/* Rows without a check hold state where every byte pattern is one the
 * code handles (a clock, a counter, a generator's words).  The SDK
 * counters index the hypercall log, which a restore cuts to them with
 * its own check (cc_hypercall_log_truncate). */
static const struct cc_vm_device devices[] = {
	{.name = "vclock", .version = CC_VCLOCK_STATE_VERSION, STATE(vclock)},
	{.name = "halt",
	 .version = CC_VM_PARTS_VERSION,
	 STATE(halt),
	 .check = halt_check},
	{.name = "pic",
	 .version = CC_PIC_STATE_VERSION,
	 STATE(pic),
	 .check = pic_check,
	 .init = pic_init,
	 .ports = {{CC_PORT_PIC1, 2}, {CC_PORT_PIC2, 2}},
	 .pio_read = pic_read,
	 .pio_write = pic_write},
	{.name = "pit",
	 .version = CC_PIT_STATE_VERSION,
	 STATE(pit.s),
	 .check = pit_check,
	 .init = pit_init,
	 .ports = {{CC_PORT_PIT_BASE, 4}, {CC_PORT_SPEAKER, 1}},
	 .pio_read = pit_read,
	 .pio_write = pit_write},
	{.name = "uart",
	 .version = CC_UART_STATE_VERSION,
	 STATE(uart.s),
	 .check = uart_check,
	 .init = uart_init,
	 .ports = {{CC_PORT_COM1, 8}},
	 .pio_read = uart_read,
	 .pio_write = uart_write},
	{.name = "rtc",
	 .version = CC_RTC_STATE_VERSION,
	 STATE(rtc),
	 .check = rtc_check,
	 .init = rtc_init,
	 .ports = {{CC_PORT_RTC, 2}},
	 .pio_read = rtc_read,
	 .pio_write = rtc_write},
	{.name = "entropy",
	 .version = CC_ENTROPY_STATE_VERSION,
	 STATE(entropy),
	 .init = entropy_init,
	 .reseed = entropy_reseed},
	{.name = "sdk", .version = CC_HC_STATE_VERSION, STATE(hc)},
	{.name = "virtio-blk",
	 .version = CC_VIRTIO_MMIO_STATE_VERSION,
	 STATE(blk.t.s),
	 .check = blk_check,
	 .init = blk_init,
	 .virtio = blk_virtio,
	 .free = blk_free},
	{.name = "disk",
	 .version = CC_DISK_STATE_VERSION,
	 STATE(blk.disk.st),
	 .check = disk_check,
	 .reseed = disk_reseed},
	{.name = "virtio-net",
	 .version = CC_VIRTIO_MMIO_STATE_VERSION,
	 STATE(net.t.s),
	 .check = net_check,
	 .init = net_init,
	 .virtio = net_virtio},
	{.name = "net-port",
	 .version = CC_NET_PORT_STATE_VERSION,
	 STATE(net.port),
	 .check = port_check},
	{.name = "virtio-rng",
	 .version = CC_VIRTIO_MMIO_STATE_VERSION,
	 STATE(rng.t.s),
	 .check = rng_check,
	 .init = rng_init,
	 .virtio = rng_virtio},
	{.name = "rng-stream",
	 .version = CC_ENTROPY_STATE_VERSION,
	 STATE(rng.stream),
	 .reseed = rng_reseed},
	{.name = "virtio-img",
	 .version = CC_VIRTIO_MMIO_STATE_VERSION,
	 STATE(img.t.s),
	 .check = img_check,
	 .init = img_init,
	 .virtio = img_virtio,
	 .free = img_free},
	{.name = "img-disk",
	 .version = CC_DISK_STATE_VERSION,
	 STATE(img.disk.st),
	 .check = disk_check},
	{.name = "image",
	 .version = CC_VM_PARTS_VERSION,
	 STATE(image),
	 .check = image_check},
	{.name = "stats", .version = CC_VM_PARTS_VERSION, STATE(stats)},
	{.name = "memlimit", .version = CC_VM_PARTS_VERSION, STATE(memlimit)},
};
#define NDEV (sizeof(devices) / sizeof(devices[0]))

const struct cc_vm_device *cc_vm_devices(size_t *n)
{
	*n = NDEV;
	return devices;
}

int cc_vm_devices_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		       struct cc_err *err)
{
	for (size_t i = 0; i < NDEV; i++)
		if (devices[i].init && devices[i].init(vm, cfg, err))
			return -1;
	return 0;
}

const struct cc_vm_device *cc_vm_device_at_port(uint16_t port)
{
	for (size_t i = 0; i < NDEV; i++)
		for (unsigned k = 0; k < 2; k++) {
			const struct cc_port_range *r = &devices[i].ports[k];
			if (port >= r->base && port - r->base < r->n)
				return &devices[i];
		}
	return NULL;
}

struct cc_virtio_mmio *cc_vm_virtio_at(struct cc_vm *vm, uint64_t gpa)
{
	uint64_t page = gpa & ~(CC_VIRTIO_MMIO_SIZE - 1);
	for (size_t i = 0; i < NDEV; i++) {
		struct cc_virtio_mmio *t =
			devices[i].virtio ? devices[i].virtio(vm) : NULL;
		if (t && t->base == page)
			return t;
	}
	return NULL;
}

uint64_t cc_vm_device_deadline(const struct cc_vm *vm)
{
	/* The hooks hand out a transport to change; this only reads it. */
	struct cc_vm *v = (struct cc_vm *)vm;
	uint64_t d = UINT64_MAX;
	for (size_t i = 0; i < NDEV; i++) {
		struct cc_virtio_mmio *t =
			devices[i].virtio ? devices[i].virtio(v) : NULL;
		uint64_t at = t ? cc_virtio_mmio_deadline(t) : UINT64_MAX;
		if (at < d)
			d = at;
	}
	return d;
}

void cc_vm_devices_poll(struct cc_vm *vm, uint64_t now)
{
	if (cc_vm_device_deadline(vm) > now)
		return;
	for (size_t i = 0; i < NDEV; i++) {
		struct cc_virtio_mmio *t =
			devices[i].virtio ? devices[i].virtio(vm) : NULL;
		if (t)
			cc_virtio_mmio_poll(t, now);
	}
}

void cc_vm_devices_reseed(struct cc_vm *vm, uint64_t vm_seed)
{
	for (size_t i = 0; i < NDEV; i++)
		if (devices[i].reseed)
			devices[i].reseed(vm, vm_seed);
}

void cc_vm_devices_free(struct cc_vm *vm)
{
	for (size_t i = 0; i < NDEV; i++)
		if (devices[i].free)
			devices[i].free(vm);
}

/* ---- the device-snapshot interface ---------------------------------- */

/* A section: its row's name (NUL padded), its version, its length, then
 * the state's bytes, zero padded to 8.  The header makes a blob say what
 * it holds, so a mismatch is named, not misread; the padding keeps every
 * state as aligned as the blob, so checks read it in place. */
#define NAME_LEN 12
struct section {
	char name[NAME_LEN];
	uint16_t version, zero;
	uint32_t len, zero2;
};
_Static_assert(sizeof(struct section) == CC_VM_SECTION_HEADER,
	       "section header size");

static size_t padded(size_t len)
{
	return (len + 7) & ~(size_t)7;
}

uint64_t cc_vm_state_size(void)
{
	uint64_t n = 0;
	for (size_t i = 0; i < NDEV; i++)
		n += sizeof(struct section) + padded(devices[i].len);
	return n;
}

void cc_vm_state_save(const struct cc_vm *vm, uint8_t *blob)
{
	for (size_t i = 0; i < NDEV; i++) {
		const struct cc_vm_device *d = &devices[i];
		struct section h = {.version = d->version,
				    .len = (uint32_t)d->len};
		memcpy(h.name, d->name, strlen(d->name));
		memcpy(blob, &h, sizeof(h));
		blob += sizeof(h);
		memcpy(blob, (const uint8_t *)vm + d->off, d->len);
		memset(blob + d->len, 0, padded(d->len) - d->len);
		blob += padded(d->len);
	}
}

void cc_vm_state_load(struct cc_vm *vm, const uint8_t *blob)
{
	for (size_t i = 0; i < NDEV; i++) {
		blob += sizeof(struct section);
		memcpy((uint8_t *)vm + devices[i].off, blob, devices[i].len);
		blob += padded(devices[i].len);
	}
}

/* Why section h (its state at `state`) is not row d's, or NULL. */
static const char *header_check(const struct cc_vm_device *d,
				const struct section *h, const uint8_t *state)
{
	static _Thread_local char why[160];
	if (strncmp(h->name, d->name, NAME_LEN))
		snprintf(why, sizeof(why), "section holds \"%.*s\" instead",
			 NAME_LEN, h->name);
	else if (h->version != d->version || h->zero)
		snprintf(why, sizeof(why),
			 "state version %u, this build reads %u", h->version,
			 d->version);
	else if (h->len != d->len || h->zero2)
		snprintf(why, sizeof(why),
			 "state of %u bytes, this build's is %zu", h->len,
			 d->len);
	else {
		for (size_t k = d->len; k < padded(d->len); k++)
			if (state[k])
				return "padding that is not zero";
		return NULL;
	}
	return why;
}

/* The rows' checks read each state in place, as its struct. */
static const char *check_aligned(const struct cc_vm *vm, const uint8_t *blob)
{
	for (size_t i = 0; i < NDEV; i++) {
		const struct cc_vm_device *d = &devices[i];
		struct section h;
		memcpy(&h, blob, sizeof(h));
		blob += sizeof(h);
		const char *bad = header_check(d, &h, blob);
		if (!bad && d->check)
			bad = d->check(vm, blob);
		if (bad) {
			static _Thread_local char why[200];
			snprintf(why, sizeof(why), "%s: %s", d->name, bad);
			return why;
		}
		blob += padded(d->len);
	}
	return NULL;
}

const char *cc_vm_state_check(const struct cc_vm *vm, const uint8_t *blob)
{
	if ((uintptr_t)blob % 8 == 0)
		return check_aligned(vm, blob);
	/* A blob inside a larger buffer: checked in an aligned copy. */
	uint64_t n = cc_vm_state_size();
	uint8_t *copy = malloc(n);
	if (!copy)
		return "out of memory to check it";
	memcpy(copy, blob, n);
	const char *why = check_aligned(vm, copy);
	free(copy);
	return why;
}

const char *cc_vm_state_layout(void)
{
	/* Per thread: a cluster's VMs look up their boot cache entries in
	 * parallel, and a shared lazily built buffer could be read half
	 * written (it was: a wrong key, a needless cold boot). */
	static _Thread_local char buf[512];
	if (buf[0])
		return buf;
	size_t at = 0;
	for (size_t i = 0; i < NDEV && at < sizeof(buf); i++)
		at += (size_t)snprintf(
			buf + at, sizeof(buf) - at, "%s%s.%u:%zu", i ? "," : "",
			devices[i].name, devices[i].version, devices[i].len);
	return buf;
}
