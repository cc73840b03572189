#include "rtc.h"

#include <string.h>
#include <time.h>

enum {
	REG_SEC = 0x00,
	REG_MIN = 0x02,
	REG_HOUR = 0x04,
	REG_WDAY = 0x06,
	REG_MDAY = 0x07,
	REG_MON = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,
	REG_B = 0x0b,
	REG_C = 0x0c,
	REG_D = 0x0d,
	REG_CENTURY = 0x32,
};

#define B_BINARY 0x04 /* data mode: binary, not BCD */
#define B_24H	 0x02
#define A_UIP	 0x80
#define D_VRT	 0x80 /* valid RAM and time */

void cc_rtc_init(struct cc_rtc *r, uint64_t epoch_s)
{
	memset(r, 0, sizeof(*r));
	r->epoch_s = epoch_s;
	r->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	r->ram[REG_B] = B_24H;
	r->ram[REG_D] = D_VRT;
}

static uint8_t encode(const struct cc_rtc *r, unsigned v)
{
	if (r->ram[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static uint8_t hour(const struct cc_rtc *r, unsigned h)
{
	if (r->ram[REG_B] & B_24H)
		return encode(r, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(encode(r, h12) | (h >= 12 ? 0x80 : 0));
}

uint64_t cc_rtc_wall_ns(const struct cc_rtc *r, uint64_t now_ns)
{
	return r->epoch_s * 1000000000ull + r->carried_ns + now_ns;
}

void cc_rtc_carry(struct cc_rtc *r, uint64_t was_wall_ns, uint64_t now_ns)
{
	uint64_t base = r->epoch_s * 1000000000ull + now_ns;
	r->carried_ns = was_wall_ns > base ? was_wall_ns - base : 0;
}

static uint8_t time_reg(const struct cc_rtc *r, uint8_t reg, uint64_t now_ns)
{
	time_t t = (time_t)(cc_rtc_wall_ns(r, now_ns) / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm); /* UTC: no host time zone involved */
	switch (reg) {
	case REG_SEC:
		return encode(r, (unsigned)tm.tm_sec);
	case REG_MIN:
		return encode(r, (unsigned)tm.tm_min);
	case REG_HOUR:
		return hour(r, (unsigned)tm.tm_hour);
	case REG_WDAY:
		return encode(r, (unsigned)tm.tm_wday + 1);
	case REG_MDAY:
		return encode(r, (unsigned)tm.tm_mday);
	case REG_MON:
		return encode(r, (unsigned)tm.tm_mon + 1);
	case REG_YEAR:
		return encode(r, (unsigned)(tm.tm_year + 1900) % 100);
	default: /* REG_CENTURY */
		return encode(r, (unsigned)(tm.tm_year + 1900) / 100);
	}
}

uint8_t cc_rtc_read(struct cc_rtc *r, unsigned offset, uint64_t now_ns)
{
	if (offset == 0)
		return r->index;
	switch (r->index) {
	case REG_SEC:
	case REG_MIN:
	case REG_HOUR:
	case REG_WDAY:
	case REG_MDAY:
	case REG_MON:
	case REG_YEAR:
	case REG_CENTURY:
		return time_reg(r, r->index, now_ns);
	case REG_A:
		return r->ram[REG_A] & (uint8_t)~A_UIP;
	case REG_C:
		return 0; /* no interrupt flags: we raise no RTC IRQ */
	default:
		return r->ram[r->index];
	}
}

void cc_rtc_write(struct cc_rtc *r, unsigned offset, uint8_t val)
{
	if (offset == 0) {
		r->index = val & 0x7f;
		return;
	}
	switch (r->index) {
	case REG_C:
	case REG_D:
		return; /* read-only */
	case REG_A:
		r->ram[REG_A] = val & (uint8_t)~A_UIP;
		return;
	default:
		/* Time registers are recomputed on read: setting the clock
		 * would let guest state leak across a deterministic replay. */
		r->ram[r->index] = val;
	}
}

const char *cc_rtc_state_check(const struct cc_rtc *r)
{
	return r->index < sizeof(r->ram) ? NULL
					 : "RTC register index out of range";
}
