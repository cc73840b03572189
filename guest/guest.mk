# Guest user space: PID-1 init, guest programs (static, musl) and the
# initramfs that packs them (docs/ARCHITECTURE.md).
MUSL_CC := musl-gcc
GUEST_CFLAGS := -std=gnu11 -Os -static -Wall -Wextra -Werror
GUEST_PROGS := $(patsubst guest/programs/%.c,$(B)/guest/bin/%,\
	$(wildcard guest/programs/*.c))
MKINITRAMFS := $(B)/cc-mkinitramfs

$(B)/guest/init: guest/init/init.c include/chaoscontrol/protocol.h \
		| $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -Iinclude -o $@ $<

$(B)/guest/bin/%: guest/programs/%.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -o $@ $<

# Systems under test are built with the SDK's edge hook (sdk/progress.c,
# itself not instrumented), as the hostile guest is.
SDK_SRCS := sdk/progress.c
$(B)/guest/bin/hostile: guest/programs/hostile.c $(SDK_SRCS) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -c -o $(B)/guest/sdk-progress.o $(SDK_SRCS)
	$(MUSL_CC) $(GUEST_CFLAGS) -fsanitize-coverage=trace-pc -o $@ $< \
		$(B)/guest/sdk-progress.o -lpthread

$(MKINITRAMFS): guest/initramfs/mkinitramfs.c guest/initramfs/cpio.c \
		guest/initramfs/cpio.h | $(SETUP_STAMP)
	$(CC) $(CFLAGS) -o $@ guest/initramfs/mkinitramfs.c \
		guest/initramfs/cpio.c -lz $(LDFLAGS)

$(B)/guest/initramfs.cpio: $(MKINITRAMFS) $(B)/guest/init $(GUEST_PROGS)
	$(MKINITRAMFS) -o $@ --init $(B)/guest/init \
		$(foreach p,$(GUEST_PROGS),--bin $(notdir $(p))=$(p))

GUEST_ALL += $(B)/guest/initramfs.cpio
