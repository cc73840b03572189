# Guest user space: PID-1 init, guest programs (static, musl) and the
# initramfs that packs them (docs/ARCHITECTURE.md).
MUSL_CC := musl-gcc
GUEST_CFLAGS := -std=gnu11 -Os -static -Wall -Wextra -Werror
GUEST_PROGS := $(patsubst guest/programs/%.c,$(B)/guest/bin/%,\
	$(wildcard guest/programs/*.c))
MKINITRAMFS := $(B)/cc-mkinitramfs

$(B)/guest/init: guest/init/init.c guest/init/system.c guest/init/system.h \
		include/chaoscontrol/protocol.h | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -Iinclude -o $@ guest/init/init.c \
		guest/init/system.c

$(B)/guest/bin/%: guest/programs/%.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -o $@ $<

# The guest SDK, libchaoscontrol.a (sdk/, never instrumented itself),
# for musl guests; systems under test link it and are built with an edge
# hook: GCC's trace-pc, or clang's trace-pc-guard (covguard).
SDK_SRCS := sdk/sdk.c sdk/transport.c sdk/coverage.c sdk/kcov.c sdk/sys.c
SDK_DEPS := $(SDK_SRCS) sdk/chaoscontrol.h sdk/sdk_internal.h sdk/sys.h \
	include/chaoscontrol/protocol.h
SDK_LIB := $(B)/guest/sdk/libchaoscontrol.a
SDK_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Werror -Iinclude -Isdk
$(SDK_LIB): $(SDK_DEPS) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	@rm -f $@
	for f in $(SDK_SRCS); do \
		$(MUSL_CC) $(SDK_CFLAGS) -c -o $(dir $@)$$(basename $$f .c).o \
			$$f || exit 1; done
	ar rcs $@ $(patsubst sdk/%.c,$(dir $@)%.o,$(SDK_SRCS))

SDK_PROGS := hostile sdkcheck diskcheck pingpong kvstore redisclient
$(foreach p,$(SDK_PROGS),$(B)/guest/bin/$(p)): $(B)/guest/bin/%: \
		guest/programs/%.c $(SDK_LIB)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -Isdk -fsanitize-coverage=trace-pc -o $@ \
		$< $(SDK_LIB) -lpthread

# The Raft target (guest/programs/raft/: the core, raft.c, is also built
# for the host by tests/unit/test_raft.c).
RAFT_SRCS := guest/programs/raft/main.c guest/programs/raft/raft.c \
	guest/programs/raft/store.c
$(B)/guest/bin/raft: $(RAFT_SRCS) guest/programs/raft/raft.h \
		guest/programs/raft/store.h \
		guest/programs/cluster.h $(SDK_LIB)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(GUEST_CFLAGS) -Isdk -fsanitize-coverage=trace-pc -o $@ \
		$(RAFT_SRCS) $(SDK_LIB)
GUEST_PROGS += $(B)/guest/bin/raft

# clang's trace-pc-guard (GCC has no guards): compiled against musl's
# headers by clang, linked by musl-gcc.
$(B)/guest/bin/covguard: guest/programs/covguard.c $(SDK_LIB)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Os -Wall -Wextra -Werror -nostdinc \
		-isystem /usr/include/x86_64-linux-musl \
		-isystem $$(clang -print-resource-dir)/include -Isdk \
		-fsanitize-coverage=trace-pc-guard -c -o $(B)/guest/covguard.o $<
	$(MUSL_CC) -static -o $@ $(B)/guest/covguard.o $(SDK_LIB)

# libvoidstar.so (guest/voidstar/): freestanding, no libc and no NEEDED
# entry at all, so any process can dlopen() it (glibc, musl, Go); the
# SDK's transport, coverage and system calls without sdk.c's assertion
# formatting (docs/SDK.md).  Its musl user brings musl's loader into the
# initramfs.
VOIDSTAR := $(B)/guest/lib/libvoidstar.so
VOIDSTAR_SRCS := guest/voidstar/voidstar.c sdk/transport.c sdk/coverage.c \
	sdk/kcov.c sdk/sys.c
MUSL_LOADER := /usr/lib/x86_64-linux-musl/libc.so
$(VOIDSTAR): $(VOIDSTAR_SRCS) $(SDK_DEPS) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Os -Wall -Wextra -Werror -Iinclude -Isdk \
		-DCC_SDK_FREESTANDING -ffreestanding -fno-stack-protector \
		-fno-tree-loop-distribute-patterns -fPIC -fvisibility=hidden \
		-shared -nostdlib -Wl,-z,defs -Wl,-soname,libvoidstar.so \
		-o $@ $(VOIDSTAR_SRCS)
$(B)/guest/bin/voidstar_user: guest/programs/voidstar_user.c \
		| $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(MUSL_CC) -std=gnu11 -Os -Wall -Wextra -Werror -o $@ $<

$(MKINITRAMFS): guest/initramfs/mkinitramfs.c guest/initramfs/cpio.c \
		guest/initramfs/cpio.h | $(SETUP_STAMP)
	$(CC) $(CFLAGS) -o $@ guest/initramfs/mkinitramfs.c \
		guest/initramfs/cpio.c -lz $(LDFLAGS)

# Uncompressed: on PVM the kernel's gunzip runs emulated (~14 s for the
# 1.2 MB archive, docs/GUEST-KERNEL.md); copying the plain cpio is cheap.
$(B)/guest/initramfs.cpio: $(MKINITRAMFS) $(B)/guest/init $(GUEST_PROGS) \
		$(VOIDSTAR)
	$(MKINITRAMFS) --no-gzip -o $@ --init $(B)/guest/init \
		$(foreach p,$(GUEST_PROGS),--bin $(notdir $(p))=$(p)) \
		--file lib/ld-musl-x86_64.so.1=$(MUSL_LOADER) \
		--file usr/lib/libvoidstar.so=$(VOIDSTAR)

GUEST_ALL += $(B)/guest/initramfs.cpio

$(B)/guest/bin/pingpong $(B)/guest/bin/kvstore $(B)/guest/bin/redisclient: \
		guest/programs/cluster.h
