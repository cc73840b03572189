/*
 * A cascaded pair of 8259A interrupt controllers, emulated in user space.
 *
 * Why not KVM's in-kernel irqchip: with it KVM handles HLT in the kernel
 * and blocks on host time, so the VMM could not fast-forward its virtual
 * clock; and its LAPIC timer runs on host hrtimers.  Owning the PIC keeps
 * every interrupt a pure function of device state at an exit.
 *
 * Edge-triggered only (what ISA devices and Linux's i8259 driver use).
 */
#ifndef CC_PIC_H
#define CC_PIC_H

#include <stdbool.h>
#include <stdint.h>

struct cc_pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines; /* current input levels, for edge detection */
	uint8_t vector_base;
	uint8_t priority_add; /* lowest-priority rotation */
	uint8_t init_state;   /* 0 = ready, 1..3 = expecting ICW2..ICW4 */
	bool icw4_needed, single, auto_eoi, read_isr, special_mask;
	bool poll;
};

/* All of it is what a snapshot saves (CC_PIC_STATE_VERSION). */
#define CC_PIC_STATE_VERSION 1
struct cc_pic {
	struct cc_pic_chip chip[2]; /* 0 = master, 1 = slave on IRQ 2 */
};

void cc_pic_init(struct cc_pic *p);
/* Drive input `irq` (0-15) to `level`; a rising edge latches it. */
void cc_pic_set_irq(struct cc_pic *p, unsigned irq, int level);
/* True if an unmasked interrupt is waiting for the CPU. */
bool cc_pic_pending(const struct cc_pic *p);
/* CPU acknowledge: returns the vector to inject and updates ISR/IRR. */
uint8_t cc_pic_ack(struct cc_pic *p);
/* Port access: ports 0x20/0x21 (master) and 0xA0/0xA1 (slave). */
uint8_t cc_pic_read(struct cc_pic *p, uint16_t port);
void cc_pic_write(struct cc_pic *p, uint16_t port, uint8_t val);
/* Restored state: NULL if sound, else why not. */
const char *cc_pic_state_check(const struct cc_pic *p);

#endif
