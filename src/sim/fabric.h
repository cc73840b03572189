/*
 * NetworkFabric: the simulated network between the VMs of a simulation.
 *
 * Ethernet frames from each VM's virtio-net port enter with the tick they
 * were taken at; they are routed by destination MAC (broadcast and
 * multicast go to every other VM, so guests' own ARP works unmodified)
 * and each copy goes through the pipeline of DESIGN.md section 7, in this
 * order:
 *
 *   1 partition    dropped when sender and receiver are on different sides
 *   2 loss         dropped with max(sender, receiver) ppm
 *   3 bandwidth    serialisation delay len*8*1000/bps ticks (the smaller
 *                  of both ends' caps) after the sender's link is free
 *                  (next_free_tick queueing)
 *   4 corruption   one byte flipped with max(...) ppm
 *   5 latency      max(...) base ticks + jitter in [0, max(...) jitter]
 *   6 reorder      with max(...) ppm, 1..window extra ticks
 *   7 duplication  with max(...) ppm, a copy 0..2 ticks later
 *
 * Every random decision comes from the fabric's own stream (seed +
 * "NETFAB"), drawn in a fixed order per stage, so the same seed and the
 * same sends give the same deliveries.  Messages are delivered in
 * (deliver_at_tick, send order) order.  Everything is plain data and can
 * be copied for a cluster snapshot (cc_fabric_copy).
 */
#ifndef CC_FABRIC_H
#define CC_FABRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/entropy.h"
#include "../devices/virtio_net.h"
#include "../fault/schedule.h"

#define CC_FABRIC_MAX_VMS 16u

/* One VM's link impairments (faults set them; NetworkHeal clears all but
 * latency). */
struct cc_link {
	uint32_t loss_ppm, corrupt_ppm, reorder_ppm, dup_ppm;
	uint64_t latency_ticks, jitter_ticks, reorder_window;
	uint64_t bandwidth_bps; /* 0 = unlimited */
	uint64_t next_free_tick;
	uint32_t side; /* partition side; all 0 = connected */
};

struct cc_net_message {
	uint32_t from, to;
	uint64_t deliver_at_tick;
	uint64_t seq; /* send order, the tie-break */
	uint16_t len;
	uint8_t data[CC_NET_FRAME_MAX];
};

struct cc_net_stats {
	uint64_t sent;	    /* frames handed to the fabric */
	uint64_t copies;    /* after routing (broadcast fans out) */
	uint64_t delivered; /* copies handed to a receiver */
	uint64_t unroutable, partitioned, lost, corrupted, delayed_bandwidth,
		jittered, reordered, duplicated, dropped_full;
};

/* acc += end - start, field by field (what a stretch of a run added). */
void cc_net_stats_add(struct cc_net_stats *acc, const struct cc_net_stats *end,
		      const struct cc_net_stats *start);

struct cc_fabric {
	unsigned nvms;
	uint8_t mac[CC_FABRIC_MAX_VMS][6];
	struct cc_link link[CC_FABRIC_MAX_VMS];
	struct cc_entropy rng;
	struct cc_net_stats stats;
	uint64_t seq;
	/* In flight: a binary min-heap on (deliver_at_tick, seq). */
	struct cc_net_message *msg;
	size_t n, cap, max_in_flight;
	/* Optional: told of every copy the fabric drops and the stage that
	 * dropped it (to = nvms when it had no receiver).  Not state: a copy
	 * keeps the pointer, its owner sets it again after a restore. */
	void (*on_drop)(void *ctx, unsigned from, unsigned to,
			const uint8_t *frame, uint32_t len, const char *stage);
	void *drop_ctx;
};

/* nvms VMs with MACs 52:54:00:12:34:<i> (as cc_virtio_net gives them). */
int cc_fabric_init(struct cc_fabric *f, unsigned nvms, uint64_t seed);
/* Random decisions from now on come from this seed's stream. */
void cc_fabric_reseed(struct cc_fabric *f, uint64_t seed);
void cc_fabric_free(struct cc_fabric *f);

/* A frame VM `from` sent at tick `now`; 0, or -1 when the fabric is full
 * (counted in dropped_full). */
int cc_fabric_send(struct cc_fabric *f, unsigned from, const uint8_t *frame,
		   uint32_t len, uint64_t now);

/* Hands every message due by `now` to deliver(ctx, message), in order. */
size_t cc_fabric_deliver(struct cc_fabric *f, uint64_t now,
			 void (*deliver)(void *ctx,
					 const struct cc_net_message *m),
			 void *ctx);

/* Partition: VMs with different sides cannot talk.  cc_fabric_heal()
 * clears partitions and every impairment except base latency. */
/* Applies a network fault (partition, heal, and the link impairments of
 * its VM, which the fault sets); false when f is not one, and changes
 * nothing then.  A link fault for a VM past the fabric's is ignored. */
bool cc_fabric_apply(struct cc_fabric *f, const struct cc_fault *fault);
void cc_fabric_partition(struct cc_fabric *f, const uint32_t *side);
void cc_fabric_heal(struct cc_fabric *f);

/* Deep copy (cluster snapshots); dst must be uninitialised or freed. */
int cc_fabric_copy(struct cc_fabric *dst, const struct cc_fabric *src);

#endif
