# Micro-guests: freestanding ELF test guests (docs/MICRO-GUESTS.md).
# Each guest/micro/tests/NAME.c becomes $(B)/guest/micro/NAME.elf, linked
# with the runtime in guest/micro/rt/.
MICRO_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -ffreestanding \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -Iinclude -Iguest/micro/rt
MICRO_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/micro/rt/micro.ld \
	-Wl,--build-id=none -Wl,-z,noexecstack
MICRO_RT_SRCS := guest/micro/rt/start.S guest/micro/rt/rt.c
MICRO_RT_OBJS := $(patsubst guest/micro/rt/%,$(B)/guest/micro/rt/%.o,\
	$(MICRO_RT_SRCS))
MICRO_GUESTS := $(patsubst guest/micro/tests/%.c,$(B)/guest/micro/%.elf,\
	$(wildcard guest/micro/tests/*.c))

$(B)/guest/micro/rt/%.o: guest/micro/rt/% guest/micro/rt/micro.h \
		guest/micro/rt/rt_layout.h include/chaoscontrol/protocol.h
	@mkdir -p $(dir $@)
	$(CC) $(MICRO_CFLAGS) -c $< -o $@

$(B)/guest/micro/%.elf: guest/micro/tests/%.c $(MICRO_RT_OBJS) \
		guest/micro/rt/micro.ld
	@mkdir -p $(dir $@)
	$(CC) $(MICRO_CFLAGS) $(MICRO_LDFLAGS) -o $@ $(MICRO_RT_OBJS) $<

micro: $(MICRO_GUESTS)
.SECONDARY: $(MICRO_RT_OBJS)
