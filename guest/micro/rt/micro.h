/*
 * The micro-guest runtime's API (docs/MICRO-GUESTS.md).
 *
 * A micro-guest is a freestanding test program for the VMM.  The runtime
 * boots it from the VMM's 64-bit entry, installs a GDT/IDT/TSS, programs
 * the PIC, and runs micro_main() at CPL3, where it executes natively even
 * on PVM hosts.  Anything privileged (port I/O, HLT, running a function at
 * CPL0) is a kernel call: `int $0x80` into the runtime.
 *
 * micro_main() returning ends the VM with status 0; rt_fail() and
 * unexpected exceptions end it with a non-zero status and a message on
 * COM1.
 */
#ifndef CC_MICRO_H
#define CC_MICRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaoscontrol/protocol.h"
#include "rt_layout.h"

/* Registers as the trap stubs save them (struct order = stack order). */
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*rt_trap_fn)(struct rt_frame *f);

/* The zero page (struct boot_params) the VMM passed in RSI. */
extern uint64_t rt_boot_params;

/* The test body, run at CPL3. */
void micro_main(void);

/* Kernel calls. */
__attribute__((noreturn)) void rt_exit(uint32_t status);
void rt_outb(uint16_t port, uint8_t val);
uint8_t rt_inb(uint16_t port);
void rt_outl(uint16_t port, uint32_t val);
uint32_t rt_inl(uint16_t port);
/* Enables interrupts and halts at CPL0 until one has been handled. */
void rt_hlt(void);
/* Halts at CPL0 with interrupts off: the VMM sees a power-off. */
__attribute__((noreturn)) void rt_poweroff(void);
/* Runs fn(arg) at CPL0 (interrupts stay enabled); returns its result. */
long rt_kernel(long (*fn)(long), long arg);

/* Console (COM1). */
void rt_puts(const char *s);
void rt_put_u64(uint64_t v);
void rt_put_hex(uint64_t v);

/* Traps: fn runs at CPL0 for exception or IRQ vector `vec` (IRQ n is
 * vector RT_VEC_IRQ0 + n; the runtime sends the EOI). */
void rt_set_trap(unsigned vec, rt_trap_fn fn);
void rt_irq_unmask(unsigned irq);
/* PIT channel 0 in rate-generator mode at `hz`. */
void rt_pit_periodic(unsigned hz);
/* The common timer: PIT channel 0 at `hz` (or with a raw divisor, 65536
 * for the slowest rate), IRQ 0 unmasked, each tick counted in rt_ticks. */
extern volatile uint64_t rt_ticks;
void rt_timer_start(unsigned hz);
void rt_timer_start_divisor(uint32_t divisor);
/* Channel 0's current count (a latch and two port reads: 3 exits). */
uint16_t rt_pit_count(void);
/* Reports `units` of deterministic work on CC_PORT_PROGRESS: the VMM
 * advances virtual time by a fixed cost per unit. */
void rt_progress(uint32_t units);

__attribute__((noreturn)) void rt_fail(const char *file, int line,
				       const char *what);
#define RT_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond))                                                   \
			rt_fail(__FILE__, __LINE__, #cond);                    \
	} while (0)

static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#endif
