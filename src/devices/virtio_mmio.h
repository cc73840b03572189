/*
 * The virtio-mmio transport (virtio 1.x section 4.2, version 2 registers,
 * no legacy interface): the register page a driver probes, feature
 * negotiation, queue set-up, the interrupt status/ack pair and the
 * device-specific config window.  Devices (blk, net, rng) embed a
 * struct cc_virtio_mmio and supply a struct cc_virtio_ops.
 *
 * Timing: a queue notification only schedules service at
 * now + ops->latency_ns; cc_virtio_mmio_poll() runs due services at the
 * VMM's next exit, and the used buffers' interrupt is raised there.  So
 * requests complete at virtual times that depend on nothing but the guest's
 * own exits, and the VMM's idle fast-forward sees their deadlines.
 *
 * A driver that breaks the protocol (bad queue geometry, malformed chain,
 * features we did not offer) sets DEVICE_NEEDS_RESET: the device stops
 * serving queues until the driver resets it, and the reason is logged.
 */
#ifndef CC_VIRTIO_MMIO_H
#define CC_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/mem.h"
#include "irq.h"
#include "virtq.h"

#define CC_VIRTIO_MAX_QUEUES  2
#define CC_VIRTIO_F_VERSION_1 (1ull << 32)
#define CC_VIRTIO_NEVER	      UINT64_MAX

/* Device status bits (virtio 1.x 2.1). */
#define CC_VIRTIO_S_ACKNOWLEDGE 1u
#define CC_VIRTIO_S_DRIVER	2u
#define CC_VIRTIO_S_DRIVER_OK	4u
#define CC_VIRTIO_S_FEATURES_OK 8u
#define CC_VIRTIO_S_NEEDS_RESET 64u
#define CC_VIRTIO_S_FAILED	128u

struct cc_virtio_mmio;

struct cc_virtio_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* offered, VERSION_1 included */
	unsigned nqueues;
	uint16_t queue_max;
	uint32_t config_len;
	uint64_t latency_ns; /* notify -> service */
	/* Reads device config bytes [off, off+len) (already bounds-checked). */
	void (*config_read)(struct cc_virtio_mmio *t, uint32_t off,
			    uint8_t *buf, uint32_t len);
	/* Serves queue q; returns false (having called cc_virtio_mmio_fail)
	 * when the guest broke the protocol. */
	bool (*service)(struct cc_virtio_mmio *t, unsigned q, uint64_t now);
	/* Device-specific reset (the transport resets itself). */
	void (*reset)(struct cc_virtio_mmio *t);
};

/* What a snapshot saves (CC_VIRTIO_MMIO_STATE_VERSION): the transport
 * and its queues, no pointers. */
#define CC_VIRTIO_MMIO_STATE_VERSION 1
struct cc_virtio_mmio_state {
	uint32_t status;
	uint32_t isr; /* InterruptStatus: bit 0 used buffer, bit 1 config */
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	struct cc_virtq q[CC_VIRTIO_MAX_QUEUES];
	uint64_t due[CC_VIRTIO_MAX_QUEUES]; /* service time or NEVER */
	uint64_t notifies, services, errors;
	char last_error[96];
};

struct cc_virtio_mmio {
	struct cc_virtio_mmio_state s;
	/* Wiring. */
	const struct cc_virtio_ops *ops;
	struct cc_mem *mem;
	struct cc_irq_line irq;
	uint64_t base;
	void (*log)(void *ctx, const char *dev, const char *msg);
	void *log_ctx;
};

void cc_virtio_mmio_init(struct cc_virtio_mmio *t,
			 const struct cc_virtio_ops *ops, struct cc_mem *mem,
			 struct cc_irq_line irq, uint64_t base);

/* A register access at `off` within the device's page (any size 1-8;
 * the spec's registers want aligned 32-bit accesses, config bytes any). */
void cc_virtio_mmio_read(struct cc_virtio_mmio *t, uint64_t off, uint8_t *data,
			 uint32_t len, uint64_t now);
void cc_virtio_mmio_write(struct cc_virtio_mmio *t, uint64_t off,
			  const uint8_t *data, uint32_t len, uint64_t now);

/* Earliest pending service time, or CC_VIRTIO_NEVER. */
uint64_t cc_virtio_mmio_deadline(const struct cc_virtio_mmio *t);
/* Runs services due at `now`; raises the interrupt for what they did. */
void cc_virtio_mmio_poll(struct cc_virtio_mmio *t, uint64_t now);
/* Asks for queue q to be served at `at` (devices with host-side input). */
void cc_virtio_mmio_kick(struct cc_virtio_mmio *t, unsigned q, uint64_t at);

/* For devices: the driver is up and queue q is usable. */
bool cc_virtio_mmio_live(const struct cc_virtio_mmio *t, unsigned q);
/* For devices: one used buffer returned; interrupt unless suppressed. */
void cc_virtio_mmio_used(struct cc_virtio_mmio *t, unsigned q);
/* Marks the device broken (DEVICE_NEEDS_RESET) with a logged reason. */
void cc_virtio_mmio_fail(struct cc_virtio_mmio *t, const char *why);

/* Validates restored state s for transport t (its ops and guest RAM;
 * snapshot files are input): NULL when t could have reached s. */
const char *cc_virtio_mmio_state_check(const struct cc_virtio_mmio *t,
				       const struct cc_virtio_mmio_state *s);

/* "virtio_mmio.device=4K@0x...:IRQ" for the kernel command line. */
int cc_virtio_mmio_cmdline(char *buf, unsigned long size, uint64_t base,
			   unsigned irq);

#endif
