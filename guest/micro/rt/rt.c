/*
 * Micro-guest runtime: CPL0 set-up, kernel calls and trap dispatch.
 * Freestanding: no libc, no SSE in the kernel half (-mgeneral-regs-only).
 */
#include "micro.h"
#include "rt_layout.h"

enum {
	KC_EXIT,
	KC_OUTB,
	KC_INB,
	KC_OUTL,
	KC_INL,
	KC_HLT,
	KC_POWEROFF,
	KC_KERNEL,
	KC_PUTS,
};

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI	  0x20
#define NVEC	  48

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

struct tss {
	uint32_t res0;
	uint64_t rsp0, rsp1, rsp2, res1;
	uint64_t ist[7];
	uint64_t res2;
	uint16_t res3, iomap;
} __attribute__((packed));

extern const uint64_t rt_trap_stubs[NVEC];
extern const uint64_t rt_trap_kcall;
extern uint64_t rt_gdt[];
extern char kstack_top[];
void rt_enter_user(void (*entry)(void), void *stack);
void rt_trap(struct rt_frame *f);

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static rt_trap_fn handlers[NVEC];
static char ustack[RT_USTACK_SIZE] __attribute__((aligned(16)));
static uint8_t pic_mask[2] = {0xff, 0xff};

/* ---- port I/O at CPL0 ------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void kputs(const char *s, uint64_t len)
{
	for (uint64_t i = 0; i < len && s[i]; i++)
		outb(CC_PORT_COM1, (uint8_t)s[i]);
}

static void kput_hex(uint64_t v)
{
	char b[19] = "0x";
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	b[18] = 0;
	kputs(b, sizeof(b));
}

__attribute__((noreturn)) static void kexit(uint32_t status)
{
	outl(CC_PORT_EXIT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- set-up ------------------------------------------------------------- */

#define GATE_INTR 0x8e /* present, interrupt gate: IF cleared */
#define GATE_TRAP 0x8f /* present, trap gate: IF unchanged */

static void set_gate(unsigned vec, uint64_t stub, unsigned dpl, unsigned type)
{
	idt[vec] = (struct idt_entry){
		.off0 = (uint16_t)stub,
		.sel = RT_KCODE,
		.type = (uint8_t)(type | dpl << 5),
		.off1 = (uint16_t)(stub >> 16),
		.off2 = (uint32_t)(stub >> 32),
	};
}

/*
 * Kernel calls enter through trap gates (IF unchanged), so the port I/O
 * they do exits with interrupts enabled.  The VMM injects interrupts only
 * at exits where the guest can take them (it asks for no window exits:
 * on PVM those land at host-chosen instructions), so a guest whose every
 * exit had IF=0 would never see its timer.  #UD is a trap gate too: on
 * PVM it is how `int $0x80` arrives.
 */
static void setup_idt(void)
{
	for (unsigned v = 0; v < NVEC; v++)
		set_gate(v, rt_trap_stubs[v], 0, GATE_INTR);
	set_gate(RT_VEC_KCALL, rt_trap_kcall, 3, GATE_TRAP);
	set_gate(6, rt_trap_stubs[6], 0, GATE_TRAP);
	/* int3 from user code must reach the handler too. */
	set_gate(3, rt_trap_stubs[3], 3, GATE_INTR);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof(idt) - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" : : "m"(d));
}

static void setup_tss(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	tss.rsp0 = (uint64_t)kstack_top;
	tss.iomap = sizeof(tss); /* no I/O bitmap: CPL3 port I/O faults */
	rt_gdt[RT_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
			     0x89ull << 40 | ((limit >> 16) & 0xf) << 48 |
			     ((base >> 24) & 0xff) << 56;
	rt_gdt[RT_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(RT_TSS));
}

/* 8259A pair: vectors 32-47, everything masked until a test unmasks. */
static void setup_pic(void)
{
	outb(PIC1_CMD, 0x11);
	outb(PIC1_DATA, RT_VEC_IRQ0);
	outb(PIC1_DATA, 4);
	outb(PIC1_DATA, 1);
	outb(PIC2_CMD, 0x11);
	outb(PIC2_DATA, RT_VEC_IRQ0 + 8);
	outb(PIC2_DATA, 2);
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, pic_mask[0]);
	outb(PIC2_DATA, pic_mask[1]);
}

static void user_entry(void)
{
	micro_main();
	rt_exit(0);
}

void rt_main(void);
void rt_main(void)
{
	setup_tss();
	setup_idt();
	setup_pic();
	rt_enter_user(user_entry, ustack + sizeof(ustack));
}

/* ---- traps -------------------------------------------------------------- */

static void kcall(struct rt_frame *f)
{
	uint64_t a = f->rdi, b = f->rsi;
	switch (f->rax) {
	case KC_EXIT:
		kexit((uint32_t)a);
	case KC_OUTB:
		outb((uint16_t)a, (uint8_t)b);
		break;
	case KC_INB:
		f->rax = inb((uint16_t)a);
		return;
	case KC_OUTL:
		outl((uint16_t)a, (uint32_t)b);
		break;
	case KC_INL:
		f->rax = inl((uint16_t)a);
		return;
	case KC_HLT:
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		break;
	case KC_POWEROFF:
		for (;;)
			__asm__ volatile("cli; hlt");
	case KC_KERNEL:
		f->rax = (uint64_t)((long (*)(long))a)((long)b);
		return;
	case KC_PUTS:
		kputs((const char *)a, b);
		break;
	default:
		kputs("micro: bad kernel call\n", 64);
		kexit(0xbad);
	}
	f->rax = 0;
}

static void unexpected(struct rt_frame *f)
{
	kputs("micro: unexpected exception ", 64);
	kput_hex(f->vector);
	kputs(" error ", 16);
	kput_hex(f->error);
	kputs(" rip ", 16);
	kput_hex(f->rip);
	kputs(" cpl ", 16);
	kput_hex(f->cs & 3);
	kputs("\n", 2);
	kexit(0x100 + (uint32_t)f->vector);
}

void rt_trap(struct rt_frame *f)
{
	uint64_t v = f->vector;
	if (v == RT_VEC_KCALL) {
		kcall(f);
		return;
	}
	/* PVM delivers `int $0x80` from CPL3 as #UD at the instruction
	 * (measured; hardware KVM takes the gate).  Same call, same result. */
	if (v == 6 && (f->cs & 3) == 3 && *(const uint16_t *)f->rip == 0x80cd) {
		f->rip += 2;
		kcall(f);
		return;
	}
	if (v < NVEC && handlers[v])
		handlers[v](f);
	else if (v < RT_VEC_IRQ0)
		unexpected(f);
	if (v >= RT_VEC_IRQ0 && v < NVEC) {
		if (v >= RT_VEC_IRQ0 + 8)
			outb(PIC2_CMD, PIC_EOI);
		outb(PIC1_CMD, PIC_EOI);
	}
}

/* ---- the CPL3 side ------------------------------------------------------ */

static long sys(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b)
			 : "memory");
	return ret;
}

void rt_exit(uint32_t status)
{
	sys(KC_EXIT, status, 0);
	__builtin_unreachable();
}

void rt_outb(uint16_t port, uint8_t val)
{
	sys(KC_OUTB, port, val);
}

uint8_t rt_inb(uint16_t port)
{
	return (uint8_t)sys(KC_INB, port, 0);
}

void rt_outl(uint16_t port, uint32_t val)
{
	sys(KC_OUTL, port, val);
}

uint32_t rt_inl(uint16_t port)
{
	return (uint32_t)sys(KC_INL, port, 0);
}

void rt_hlt(void)
{
	sys(KC_HLT, 0, 0);
}

void rt_poweroff(void)
{
	sys(KC_POWEROFF, 0, 0);
	__builtin_unreachable();
}

long rt_kernel(long (*fn)(long), long arg)
{
	return sys(KC_KERNEL, (long)fn, arg);
}

void rt_puts(const char *s)
{
	uint64_t n = 0;
	while (s[n])
		n++;
	sys(KC_PUTS, (long)s, (long)n);
}

void rt_put_u64(uint64_t v)
{
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rt_puts(b + i);
}

void rt_put_hex(uint64_t v)
{
	char b[19] = "0x";
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	b[18] = 0;
	rt_puts(b);
}

void rt_set_trap(unsigned vec, rt_trap_fn fn)
{
	if (vec < NVEC)
		handlers[vec] = fn;
}

void rt_irq_unmask(unsigned irq)
{
	if (irq >= 16)
		return;
	if (irq >= 8) {
		pic_mask[0] &= (uint8_t) ~(1u << 2); /* cascade */
		pic_mask[1] &= (uint8_t) ~(1u << (irq - 8));
		rt_outb(PIC2_DATA, pic_mask[1]);
	} else {
		pic_mask[0] &= (uint8_t) ~(1u << irq);
	}
	rt_outb(PIC1_DATA, pic_mask[0]);
}

static void pit_divisor(uint32_t div)
{
	rt_outb(CC_PORT_PIT_MODE, 0x34); /* ch 0, lo/hi byte, mode 2 */
	rt_outb(CC_PORT_PIT_BASE, (uint8_t)div);
	rt_outb(CC_PORT_PIT_BASE, (uint8_t)(div >> 8)); /* 65536 -> 0 */
}

void rt_pit_periodic(unsigned hz)
{
	pit_divisor((uint32_t)(1193182u / hz));
}

volatile uint64_t rt_ticks;

static void count_tick(struct rt_frame *f)
{
	(void)f;
	rt_ticks++;
}

void rt_timer_start_divisor(uint32_t divisor)
{
	rt_set_trap(RT_VEC_IRQ0 + CC_IRQ_PIT, count_tick);
	pit_divisor(divisor);
	rt_irq_unmask(CC_IRQ_PIT);
}

void rt_timer_start(unsigned hz)
{
	rt_timer_start_divisor((uint32_t)(1193182u / hz));
}

uint16_t rt_pit_count(void)
{
	rt_outb(CC_PORT_PIT_MODE, 0x00); /* latch channel 0 */
	uint16_t c = rt_inb(CC_PORT_PIT_BASE);
	return (uint16_t)(c | rt_inb(CC_PORT_PIT_BASE) << 8);
}

void rt_progress(uint32_t units)
{
	rt_outl(CC_PORT_PROGRESS, units);
}

void rt_fail(const char *file, int line, const char *what)
{
	rt_puts("FAIL ");
	rt_puts(file);
	rt_puts(":");
	rt_put_u64((uint64_t)line);
	rt_puts(": ");
	rt_puts(what);
	rt_puts("\n");
	rt_exit(1);
}
