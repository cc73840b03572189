/*
 * Intel 8254 programmable interval timer, emulated in user space on the
 * VM's virtual clock (ns).  Channel 0 drives IRQ 0; channel 2 is gated by
 * port 0x61 bit 0 and its output is read back in bit 5 (Linux uses it to
 * calibrate).  Counts are a pure function of virtual time, so reading the
 * PIT never leaks host time (KVM's in-kernel PIT does).
 */
#ifndef CC_PIT_H
#define CC_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "irq.h"

#define CC_PIT_HZ    1193182ull
#define CC_PIT_NEVER UINT64_MAX

struct cc_pit_channel {
	uint8_t mode;	  /* 0-5 */
	uint8_t access;	  /* 1 = LSB, 2 = MSB, 3 = LSB then MSB */
	uint32_t count;	  /* reload value; 0 means 65536 */
	uint64_t load_ns; /* virtual time counting (re)started */
	bool counting;	  /* a count has been written since the mode */
	bool write_msb;	  /* next write is the MSB (access 3) */
	bool read_msb;	  /* next read is the MSB (access 3) */
	uint8_t write_lsb;
	bool latched;
	uint16_t latch;
	uint8_t latch_reads; /* bytes of the latch still to be read */
	bool status_latched;
	uint8_t status;
	bool gate;
};

/* What a snapshot saves (CC_PIT_STATE_VERSION): all of it, no pointers. */
#define CC_PIT_STATE_VERSION 1
struct cc_pit_state {
	struct cc_pit_channel ch[3];
	bool speaker_data;    /* port 0x61 bit 1 */
	uint64_t irq_next_ns; /* next IRQ 0 edge, or CC_PIT_NEVER */
};

struct cc_pit {
	struct cc_pit_state s;
	struct cc_irq_line irq; /* wiring */
};

void cc_pit_init(struct cc_pit *p, struct cc_irq_line irq);
uint8_t cc_pit_read(struct cc_pit *p, uint16_t port, uint64_t now);
void cc_pit_write(struct cc_pit *p, uint16_t port, uint8_t val, uint64_t now);
uint8_t cc_pit_read_speaker(struct cc_pit *p, uint64_t now);
void cc_pit_write_speaker(struct cc_pit *p, uint8_t val, uint64_t now);
/* Raises IRQ 0 if its deadline has passed; call at every exit. */
void cc_pit_update(struct cc_pit *p, uint64_t now);
/* Restored state: NULL if a PIT could have reached it, else why not. */
const char *cc_pit_state_check(const struct cc_pit_state *s);
/* Virtual time of the next IRQ 0, or CC_PIT_NEVER. */
static inline uint64_t cc_pit_deadline(const struct cc_pit *p)
{
	return p->s.irq_next_ns;
}

#endif
