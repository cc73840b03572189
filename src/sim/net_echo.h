/*
 * NetEcho: the simplest peer a VM's network port can have - a mirror.
 * It answers ARP for any address but the asker's own with a fixed MAC,
 * and sends every IPv4 frame back with Ethernet, IP and port addresses
 * swapped (ICMP echo requests become replies).  Swapping leaves the IP,
 * UDP and TCP checksums valid (one's-complement sums do not depend on
 * order), so the guest's own stack sees a peer that echoes: a UDP
 * datagram to 10.0.0.2:7 comes back from there, and a TCP connect()
 * completes as a simultaneous open with the mirror image of itself and
 * then echoes its data.  Used by `run --net-echo` and the virtio-net
 * tests; the simulation's network fabric replaces it with real peers.
 */
#ifndef CC_NET_ECHO_H
#define CC_NET_ECHO_H

#include <stdbool.h>
#include <stdint.h>

#define CC_NET_ECHO_MAC                                                        \
	{                                                                      \
		0x52, 0x54, 0x00, 0xec, 0x40, 0x00                             \
	}

struct cc_net_echo {
	uint64_t frames, replies, ignored;
};

/* The reply to frame `in` (at most len bytes) in `out` (room for len);
 * false when the frame gets none (not ARP or IPv4, malformed). */
bool cc_net_echo_reply(struct cc_net_echo *e, const uint8_t *in, uint32_t len,
		       uint8_t *out, uint32_t *out_len);

#endif
