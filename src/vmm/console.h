/*
 * The VM's console (console.c): the bytes the guest writes to COM1,
 * captured up to cfg.console_cap (past it streamed and counted, never
 * kept: a guest printing in a loop cannot grow the VMM) and streamed to
 * cfg.serial_fd a line at a time.  Internal to vmm/.
 */
#ifndef CC_CONSOLE_H
#define CC_CONSOLE_H

#include <stdint.h>

#include "vm.h"

/* The UART's output sink (ctx is the VM). */
void cc_vm_serial_out(void *ctx, uint8_t byte);
/* Streams what is not streamed yet (at a line's end, and when a run
 * stops). */
void cc_vm_console_flush(struct cc_vm *vm);

#endif
