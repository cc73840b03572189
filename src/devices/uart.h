/*
 * 16550A UART (COM1) emulated in user space.  Transmission is instant:
 * the transmit holding register is always empty, so the guest never
 * polls, and a THR-empty interrupt is raised the way real hardware (and
 * Linux's 8250 driver) expects: pending after THR empties, cleared by an
 * IIR read or a THR write.  Received bytes are not supported yet (no
 * host input reaches a deterministic guest).
 */
#ifndef CC_UART_H
#define CC_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "irq.h"

/* What a snapshot saves (CC_UART_STATE_VERSION): all of it, no pointers. */
#define CC_UART_STATE_VERSION 1
struct cc_uart_state {
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	bool thre_pending; /* THR-empty interrupt waiting for an IIR read */
	int line;	   /* current level of the IRQ line */
};

struct cc_uart {
	struct cc_uart_state s;
	/* Wiring. */
	struct cc_irq_line irq;
	void (*out)(void *ctx, uint8_t byte);
	void *out_ctx;
};

void cc_uart_init(struct cc_uart *u, struct cc_irq_line irq,
		  void (*out)(void *ctx, uint8_t byte), void *out_ctx);
uint8_t cc_uart_read(struct cc_uart *u, unsigned offset);
void cc_uart_write(struct cc_uart *u, unsigned offset, uint8_t val);
/* Restored state: NULL if a UART could have reached it, else why not. */
const char *cc_uart_state_check(const struct cc_uart_state *s);

#endif
