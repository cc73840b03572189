/* Constants shared by the runtime's assembly and C. */
#ifndef RT_LAYOUT_H
#define RT_LAYOUT_H

#define RT_KCODE 0x08
#define RT_KDATA 0x10
#define RT_UDATA 0x18
#define RT_UCODE 0x20
#define RT_TSS	 0x28

#define RT_VEC_IRQ0  32	 /* PIC vector base: IRQ n -> vector 32 + n */
#define RT_VEC_KCALL 128 /* int $0x80: kernel call from CPL3 */

#define RT_KSTACK_SIZE 16384
#define RT_USTACK_SIZE 16384

#endif
