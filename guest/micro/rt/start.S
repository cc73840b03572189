/*
 * Micro-guest runtime: entry, descriptor tables, page tables and trap stubs.
 *
 * The VMM enters _start in 64-bit mode (docs/MICRO-GUESTS.md): paging on
 * with its own identity map, RSI = zero page, interrupts off.  We switch
 * to our own GDT (with user segments and a TSS), page tables whose pages
 * are user-accessible, and an IDT, then rt_main() drops to CPL3.
 *
 * Everything that can be static is static: on PVM hosts every guest
 * kernel instruction is emulated (~1 us), so tables are assembled here
 * rather than filled by loops at run time.
 */
#include "rt_layout.h"

	.section .text.start, "ax"
	.code64
	.globl _start
_start:
	cli
	lgdt	gdt_desc(%rip)
	movq	$pml4, %rax
	movq	%rax, %cr3
	movw	$RT_KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	leaq	kstack_top(%rip), %rsp
	/* Reload CS with a far return. */
	pushq	$RT_KCODE
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	movq	%rsi, rt_boot_params(%rip)
	call	rt_main
2:	hlt
	jmp	2b

/* rt_enter_user(entry, stack): iretq to CPL3 with IF set. */
	.text
	.globl rt_enter_user
rt_enter_user:
	pushq	$RT_UDATA | 3		/* ss */
	pushq	%rsi			/* rsp */
	pushq	$0x202			/* rflags: IF */
	pushq	$RT_UCODE | 3		/* cs */
	pushq	%rdi			/* rip */
	movw	$RT_UDATA | 3, %ax
	movw	%ax, %ds
	movw	%ax, %es
	iretq

/*
 * Trap stubs: each pushes a dummy error code where the CPU pushes none,
 * then the vector, and joins trap_common, which saves the registers as a
 * struct rt_frame and calls rt_trap(frame).
 */
.macro TRAP_NOERR vec
	.align 16
trap_\vec:
	pushq	$0
	pushq	$\vec
	jmp	trap_common
.endm
.macro TRAP_ERR vec
	.align 16
trap_\vec:
	pushq	$\vec
	jmp	trap_common
.endm

	.align 16
trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	rt_trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector, error code */
	iretq

/* Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30. */
TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR 29
TRAP_ERR 30
TRAP_NOERR 31
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
TRAP_NOERR \v
.endr
TRAP_NOERR 128			/* RT_VEC_KCALL */

/* Stub addresses, indexed by vector (0-47), then the kernel call. */
	.section .rodata
	.align 8
	.globl rt_trap_stubs
rt_trap_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23
	.quad trap_\v
.endr
.irp v, 24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad trap_\v
.endr
	.globl rt_trap_kcall
rt_trap_kcall:
	.quad trap_128

/* GDT: null, kernel code/data, user data/code (sysret order), TSS. */
	.data
	.align 16
	.globl rt_gdt
rt_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf93000000ffff	/* 0x10 kernel data */
	.quad 0x00cff3000000ffff	/* 0x18 user data, DPL3 */
	.quad 0x00affb000000ffff	/* 0x20 user code, 64-bit, DPL3 */
	.quad 0, 0			/* 0x28 TSS, filled by rt_main */
gdt_end:
gdt_desc:
	.word gdt_end - rt_gdt - 1
	.quad rt_gdt

/*
 * Identity map of the first 4 GiB with 2 MiB pages, user-accessible (the
 * test body at CPL3 shares code and data with the runtime; MMIO devices
 * sit below 4 GiB).
 */
	.align 4096
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x7
	.quad pd + 0x1000 + 0x7
	.quad pd + 0x2000 + 0x7
	.quad pd + 0x3000 + 0x7
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0x87		/* present, writable, user, 2 MiB */
	.set i, i + 1
	.endr

	.bss
	.align 8
	.globl rt_boot_params
rt_boot_params:
	.quad 0
	.align 4096
	.globl kstack_top
kstack:
	.skip RT_KSTACK_SIZE
kstack_top:
	.section .note.GNU-stack, "", @progbits
