/* The VM's console: what the guest writes to COM1, kept up to the
 * capture's cap and streamed to cfg.serial_fd a line at a time. */
#include "console.h"

#include <stdio.h>

#include "../base/array.h"
#include "../base/file.h"

/* Streams the kept bytes not yet written, then those past the cap; on
 * a write error the rest is given up (the capture keeps them). */
void cc_vm_console_flush(struct cc_vm *vm)
{
	if (vm->cfg.serial_fd >= 0 &&
	    !cc_write_all(vm->cfg.serial_fd, vm->serial + vm->serial_flushed,
			  vm->serial_len - vm->serial_flushed))
		cc_write_all(vm->cfg.serial_fd, vm->over, vm->nover);
	vm->serial_flushed = vm->serial_len;
	vm->nover = 0;
}

static uint64_t console_cap(const struct cc_vm *vm)
{
	uint64_t c =
		vm->cfg.console_cap ? vm->cfg.console_cap : CC_CONSOLE_DEFAULT;
	return c < CC_CONSOLE_MAX ? c : CC_CONSOLE_MAX;
}

/* Past the cap a byte is only streamed (a line at a time) and counted:
 * a guest printing in a loop must not grow the VMM without bound. */
static void serial_over(struct cc_vm *vm, uint8_t byte)
{
	if (!vm->serial_dropped++)
		fprintf(stderr,
			"chaoscontrol: console capture full (%llu bytes): "
			"further output is shown, not kept\n",
			(unsigned long long)console_cap(vm));
	vm->over[vm->nover++] = (char)byte;
	if (byte == '\n' || vm->nover == sizeof(vm->over))
		cc_vm_console_flush(vm); /* the kept bytes first, then these */
}

void cc_vm_serial_out(void *ctx, uint8_t byte)
{
	struct cc_vm *vm = ctx;
	vm->stats.serial_bytes++;
	if (vm->serial_len >= console_cap(vm) ||
	    cc_array_grow(&vm->serial, &vm->serial_cap, vm->serial_len, 1,
			  4096)) {
		serial_over(vm, byte);
		return;
	}
	vm->serial[vm->serial_len++] = (char)byte;
	if (byte == '\n')
		cc_vm_console_flush(vm);
}

void cc_vm_console_replay(struct cc_vm *vm, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		cc_vm_serial_out(vm, (uint8_t)buf[i]);
	cc_vm_console_flush(vm);
}
