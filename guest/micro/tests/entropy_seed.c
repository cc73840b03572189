/*
 * Prints the RNG seed the VMM put in the boot setup_data list (what Linux
 * mixes into its pool): a function of the simulation seed only.
 */
#include "micro.h"

#define BP_SETUP_DATA  0x250 /* boot_params.hdr.setup_data */
#define SETUP_RNG_SEED 9

struct setup_data {
	uint64_t next;
	uint32_t type, len;
	uint8_t data[];
};

void micro_main(void)
{
	uint64_t sd_addr = *(const uint64_t *)(rt_boot_params + BP_SETUP_DATA);
	RT_CHECK(sd_addr != 0);
	const struct setup_data *sd = (const void *)sd_addr;
	RT_CHECK(sd->type == SETUP_RNG_SEED);
	RT_CHECK(sd->len == 32);
	rt_puts("seed:");
	for (uint32_t i = 0; i < sd->len; i += 8) {
		rt_puts(" ");
		rt_put_hex(*(const uint64_t *)(sd->data + i));
	}
	rt_puts("\n");
}
