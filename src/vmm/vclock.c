#include "vclock.h"

#include <stddef.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

/*
 * Virtual nanoseconds charged per exit.  About what the access costs on
 * real hardware (an ISA port access is ~1 us); the exact figures matter
 * only in that they are fixed.  HLT costs nothing: time jumps to the next
 * deadline instead.  An interrupt-window exit is caused by the VMM's own
 * request, so it is free too.
 */
static const uint64_t cost_ns[CC_EXIT__COUNT] = {
	[CC_EXIT_PIO_IN] = 1000,
	[CC_EXIT_PIO_OUT] = 1000,
	[CC_EXIT_MMIO_READ] = 1000,
	[CC_EXIT_MMIO_WRITE] = 1000,
};

static const char *const names[CC_EXIT__COUNT] = {
	[CC_EXIT_PIO_IN] = "pio_in",
	[CC_EXIT_PIO_OUT] = "pio_out",
	[CC_EXIT_MMIO_READ] = "mmio_read",
	[CC_EXIT_MMIO_WRITE] = "mmio_write",
	[CC_EXIT_HLT] = "hlt",
	[CC_EXIT_IRQ_WINDOW] = "irq_window",
	[CC_EXIT_SHUTDOWN] = "shutdown",
	[CC_EXIT_INTERNAL_ERROR] = "internal_error",
	[CC_EXIT_FAIL_ENTRY] = "fail_entry",
	[CC_EXIT_SYSTEM_EVENT] = "system_event",
	[CC_EXIT_OTHER] = "other",
	[CC_EXIT_HOST] = "host_intr",
};

const char *cc_exit_class_name(enum cc_exit_class c)
{
	return c < CC_EXIT__COUNT ? names[c] : "?";
}

void cc_vclock_exit(struct cc_vclock *vc, enum cc_exit_class c)
{
	if (c < CC_EXIT__COUNT)
		vc->ns += cost_ns[c];
}

void cc_vclock_page_init(struct cc_mem *mem)
{
	struct cc_clock_page p;
	memset(&p, 0, sizeof(p));
	p.magic = CC_CLOCK_MAGIC;
	p.version = CC_CLOCK_VERSION;
	p.tsc_khz = CC_TSC_KHZ;
	cc_mem_write(mem, CC_CLOCK_GPA, &p, sizeof(p));
}

/* Compare first: time stands still across most entries (host stops,
 * watchdog kicks), and an unchanged page stays clean for snapshots.  One
 * bounds check per entry: the store goes through the checked pointer. */
void cc_vclock_publish(const struct cc_vclock *vc, struct cc_mem *mem)
{
	const uint64_t gpa = CC_CLOCK_GPA + offsetof(struct cc_clock_page, ns);
	uint64_t *ns = cc_mem_ptr(mem, gpa, sizeof(*ns));
	if (ns && *ns != vc->ns) {
		*ns = vc->ns;
		cc_mem_mark_dirty(mem, gpa, sizeof(*ns));
	}
}
