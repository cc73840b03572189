#include "e820.h"

#include "chaoscontrol/protocol.h"

#define EBDA_START     0x9fc00ull
#define HIGH_RAM_START 0x100000ull

static void add(struct cc_e820 *map, uint64_t addr, uint64_t size,
		uint32_t type)
{
	map->e[map->n++] = (struct cc_e820_entry){addr, size, type};
}

void cc_e820_build(struct cc_e820 *map, uint64_t ram_size)
{
	map->n = 0;
	add(map, 0, EBDA_START, CC_E820_RAM);
	/* EBDA: Linux looks for an MP table there; keep it off-limits. */
	add(map, EBDA_START, 0xa0000ull - EBDA_START, CC_E820_RESERVED);
	add(map, CC_COVERAGE_GPA, CC_COVERAGE_SIZE, CC_E820_RESERVED);
	add(map, CC_CLOCK_GPA, CC_CLOCK_SIZE, CC_E820_RESERVED);
	add(map, CC_HYPERCALL_GPA, CC_HYPERCALL_SIZE, CC_E820_RESERVED);
	add(map, HIGH_RAM_START, ram_size - HIGH_RAM_START, CC_E820_RAM);
}
