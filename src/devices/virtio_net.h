/*
 * virtio-net (virtio 1.x section 5.1): one receive and one transmit queue,
 * a fixed MAC (52:54:00:12:34:<vm index>), no offloads, no mergeable
 * buffers.  The host side is struct cc_net_port: transmitted frames wait
 * in a queue for the host (the simulation's network fabric, or a test's
 * echo) to take; frames the host delivers wait in a backlog until the
 * guest has posted receive buffers.  Both queues are fixed-size plain
 * data, so they are part of the device's snapshot row: a snapshot taken
 * mid-traffic keeps every frame in flight.
 */
#ifndef CC_VIRTIO_NET_H
#define CC_VIRTIO_NET_H

#include "virtio_mmio.h"

#define CC_NET_FRAME_MAX 1518u /* Ethernet + one VLAN tag, no FCS */
#define CC_NET_FRAME_MIN 14u   /* an Ethernet header */
#define CC_NET_QUEUE	 64u

struct cc_net_frame {
	uint64_t at; /* virtual time it left the guest / reached the port */
	uint16_t len;
	uint8_t data[CC_NET_FRAME_MAX];
};

/* A bounded FIFO of frames. */
struct cc_net_fifo {
	uint32_t head, count;
	struct cc_net_frame f[CC_NET_QUEUE];
};

/* Saved whole by snapshots; bump when the struct changes. */
#define CC_NET_PORT_STATE_VERSION 1
struct cc_net_port {
	struct cc_net_fifo tx; /* guest -> host */
	struct cc_net_fifo rx; /* host -> guest, waiting for buffers */
	uint64_t tx_frames, rx_frames, tx_dropped, rx_dropped;
};

struct cc_virtio_net {
	struct cc_virtio_mmio t; /* first: the transport */
	struct cc_net_port port; /* guest-visible: a snapshot row */
	uint8_t mac[6];
	struct cc_virtq_chain chain; /* scratch */
};

/* Validates a restored port (snapshot files are input): NULL when sane. */
const char *cc_net_port_check(const struct cc_net_port *p);

void cc_virtio_net_init(struct cc_virtio_net *n, struct cc_mem *mem,
			struct cc_irq_line irq, unsigned vm_index);

/* Host side.  Takes the oldest transmitted frame; false when none.  Taking
 * one lets the guest's blocked transmissions go on at `now`. */
bool cc_net_port_take(struct cc_virtio_net *n, struct cc_net_frame *out,
		      uint64_t now);
/* Hands a frame to the guest, received at virtual time `now`; false (and
 * counted in rx_dropped) when the backlog is full or the frame malformed. */
bool cc_net_port_deliver(struct cc_virtio_net *n, const void *frame,
			 uint32_t len, uint64_t now);

#endif
