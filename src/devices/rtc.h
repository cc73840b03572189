/*
 * MC146818 CMOS real-time clock (ports 0x70/0x71), emulated in user space.
 *
 * The date it reports is a pure function of virtual time: a fixed epoch
 * (seconds since 1970, UTC) plus the VM's virtual clock (plus what the
 * machine lived before a restart).  So the guest's
 * wall clock (CLOCK_REALTIME is set from the RTC at boot) starts at the
 * same instant in every run, never at host time.  The update-in-progress
 * bit is never set, so readers never spin on it, and the guest cannot set
 * the clock (writes to the time registers are ignored).
 */
#ifndef CC_RTC_H
#define CC_RTC_H

#include <stdint.h>

/* 2025-01-01 00:00:00 UTC: the default start of guest wall time. */
#define CC_RTC_DEFAULT_EPOCH 1735689600ull

/* All of it is what a snapshot saves (CC_RTC_STATE_VERSION). */
#define CC_RTC_STATE_VERSION 1
struct cc_rtc {
	uint64_t epoch_s; /* guest wall time at vclock 0 */
	/* Wall time the machine had lived before its virtual clock last
	 * went back to its boot value (a restart): the wall clock goes on
	 * where it was instead of starting again. */
	uint64_t carried_ns;
	uint8_t index;	  /* selected register (port 0x70, NMI bit masked) */
	uint8_t ram[128]; /* CMOS bytes; time registers are computed */
};

void cc_rtc_init(struct cc_rtc *r, uint64_t epoch_s);
/* offset 0 = index port (0x70), 1 = data port (0x71). */
uint8_t cc_rtc_read(struct cc_rtc *r, unsigned offset, uint64_t now_ns);
void cc_rtc_write(struct cc_rtc *r, unsigned offset, uint8_t val);
/* Restored state: NULL if sound, else why not (a register index past
 * the CMOS bytes would let one `outb 0x71` write past them). */
const char *cc_rtc_state_check(const struct cc_rtc *r);
/* The wall clock in ns since 1970 at virtual time now_ns. */
uint64_t cc_rtc_wall_ns(const struct cc_rtc *r, uint64_t now_ns);
/* A restart: the virtual clock jumps from was_ns back to now_ns; the
 * wall clock keeps going from where it was. */
void cc_rtc_carry(struct cc_rtc *r, uint64_t was_wall_ns, uint64_t now_ns);

#endif
