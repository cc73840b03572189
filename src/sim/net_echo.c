#include "net_echo.h"

#include <string.h>

#define ETH_HLEN      14
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_ARP 0x0806
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17

static const uint8_t echo_mac[6] = CC_NET_ECHO_MAC;

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void swap(uint8_t *a, uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/* ARP request for someone else's address: "it is at echo_mac". */
static bool arp(uint8_t *f, uint32_t len)
{
	uint8_t *a = f + ETH_HLEN;
	if (len < ETH_HLEN + 28 || be16(a) != 1 ||
	    be16(a + 2) != ETHERTYPE_IP || a[4] != 6 || a[5] != 4 ||
	    be16(a + 6) != 1)
		return false;
	if (!memcmp(a + 14, a + 24, 4))
		return false; /* gratuitous ARP: nobody answers */
	uint8_t target_ip[4];
	memcpy(target_ip, a + 24, 4);
	memcpy(a + 18, a + 8, 10); /* target := sender (MAC + IP) */
	memcpy(a + 8, echo_mac, 6);
	memcpy(a + 14, target_ip, 4);
	a[7] = 2; /* reply */
	memcpy(f, f + 6, 6);
	memcpy(f + 6, echo_mac, 6);
	return true;
}

static bool ipv4(uint8_t *f, uint32_t len)
{
	uint8_t *ip = f + ETH_HLEN;
	if (len < ETH_HLEN + 20 || ip[0] >> 4 != 4)
		return false;
	unsigned ihl = (ip[0] & 15u) * 4;
	uint32_t tot = be16(ip + 2);
	if (ihl < 20 || tot < ihl || ETH_HLEN + tot > len)
		return false;
	uint8_t *l4 = ip + ihl;
	uint32_t l4len = tot - ihl;
	swap(ip + 12, ip + 16, 4);
	if ((ip[9] == IPPROTO_TCP_ || ip[9] == IPPROTO_UDP_) && l4len >= 4) {
		swap(l4, l4 + 2, 2);
	} else if (ip[9] == IPPROTO_ICMP_ && l4len >= 4 && l4[0] == 8) {
		/* Echo request -> reply: type 8 -> 0, checksum + 0x0800. */
		l4[0] = 0;
		uint32_t sum = (uint32_t)be16(l4 + 2) + 0x0800;
		sum = (sum & 0xffff) + (sum >> 16);
		l4[2] = (uint8_t)(sum >> 8);
		l4[3] = (uint8_t)sum;
	} else if (ip[9] == IPPROTO_ICMP_) {
		return false;
	}
	memcpy(f, f + 6, 6);
	memcpy(f + 6, echo_mac, 6);
	return true;
}

bool cc_net_echo_reply(struct cc_net_echo *e, const uint8_t *in, uint32_t len,
		       uint8_t *out, uint32_t *out_len)
{
	e->frames++;
	bool ok = false;
	if (len >= ETH_HLEN) {
		memcpy(out, in, len);
		uint16_t type = be16(out + 12);
		ok = type == ETHERTYPE_ARP  ? arp(out, len)
		     : type == ETHERTYPE_IP ? ipv4(out, len)
					    : false;
	}
	if (!ok) {
		e->ignored++;
		return false;
	}
	*out_len = len;
	e->replies++;
	return true;
}
