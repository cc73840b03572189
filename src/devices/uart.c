#include "uart.h"

#include "../base/check.h"

#include <string.h>

enum {
	REG_RBR_THR = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI	    0x01
#define IER_THRI    0x02
#define IIR_NO_INT  0x01
#define IIR_THRI    0x02
#define IIR_FIFO_ON 0xc0
#define LCR_DLAB    0x80
#define MCR_LOOP    0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MSR_CTS	    0x10
#define MSR_DSR	    0x20
#define MSR_RI	    0x40
#define MSR_DCD	    0x80

static void update_irq(struct cc_uart *u)
{
	int level = (u->s.ier & IER_THRI) && u->s.thre_pending;
	if (level != u->s.line) {
		u->s.line = level;
		cc_irq_set(&u->irq, level);
	}
}

void cc_uart_init(struct cc_uart *u, struct cc_irq_line irq,
		  void (*out)(void *ctx, uint8_t byte), void *out_ctx)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->out = out;
	u->out_ctx = out_ctx;
	u->s.dll = 0x0c; /* 9600 baud, as a BIOS would leave it */
}

static uint8_t read_msr(const struct cc_uart *u)
{
	if (!(u->s.mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback: modem outputs appear on the inputs (Linux probes it). */
	uint8_t m = 0;
	if (u->s.mcr & 0x02)
		m |= MSR_CTS;
	if (u->s.mcr & 0x01)
		m |= MSR_DSR;
	if (u->s.mcr & 0x04)
		m |= MSR_RI;
	if (u->s.mcr & 0x08)
		m |= MSR_DCD;
	return m;
}

static uint8_t read_iir(struct cc_uart *u)
{
	uint8_t fifo = (u->s.fcr & 1) ? IIR_FIFO_ON : 0;
	if ((u->s.ier & IER_THRI) && u->s.thre_pending) {
		u->s.thre_pending = false;
		update_irq(u);
		return IIR_THRI | fifo;
	}
	return IIR_NO_INT | fifo;
}

uint8_t cc_uart_read(struct cc_uart *u, unsigned offset)
{
	bool dlab = u->s.lcr & LCR_DLAB;
	switch (offset & 7) {
	case REG_RBR_THR:
		return dlab ? u->s.dll : 0;
	case REG_IER:
		return dlab ? u->s.dlm : u->s.ier;
	case REG_IIR_FCR:
		return read_iir(u);
	case REG_LCR:
		return u->s.lcr;
	case REG_MCR:
		return u->s.mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT;
	case REG_MSR:
		return read_msr(u);
	default:
		return u->s.scr;
	}
}

static void write_thr(struct cc_uart *u, uint8_t val)
{
	/* In loopback the byte would go to the receiver, which we don't
	 * model; it must not reach the console either. */
	if (!(u->s.mcr & MCR_LOOP) && u->out)
		u->out(u->out_ctx, val);
	/* The byte left at once: THR is empty again, so the interrupt
	 * condition re-arms.  The IIR read in between produced the edge. */
	u->s.thre_pending = true;
	update_irq(u);
}

void cc_uart_write(struct cc_uart *u, unsigned offset, uint8_t val)
{
	bool dlab = u->s.lcr & LCR_DLAB;
	switch (offset & 7) {
	case REG_RBR_THR:
		if (dlab)
			u->s.dll = val;
		else
			write_thr(u, val);
		break;
	case REG_IER:
		if (dlab) {
			u->s.dlm = val;
			break;
		}
		if ((val & IER_THRI) && !(u->s.ier & IER_THRI))
			u->s.thre_pending = true;
		u->s.ier = val & 0x0f;
		update_irq(u);
		break;
	case REG_IIR_FCR:
		u->s.fcr = val & 0xc9;
		break;
	case REG_LCR:
		u->s.lcr = val;
		break;
	case REG_MCR:
		u->s.mcr = val & 0x1f;
		break;
	case REG_SCR:
		u->s.scr = val;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

const char *cc_uart_state_check(const struct cc_uart_state *s)
{
	if (!cc_bool_ok(&s->thre_pending) || (s->line != 0 && s->line != 1))
		return "UART interrupt state out of range";
	return NULL;
}
