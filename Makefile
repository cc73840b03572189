# ChaosControl - deterministic hypervisor for simulation testing.
#
#   make          set-up (Debian packages), VMM, guest kernel, guests
#   make run      boot the default guest
#   make test     unit, micro-guest and Linux tests
#   make test-hw  the same tiers on hardware KVM (inside QEMU TCG + SVM)
#   make bench    boot and exit-cost figures
#   make asan     ASan/UBSan build: unit, micro-guest and some Linux tests
#   make clean    remove build trees (the kernel cache stays)

B ?= build
CC := gcc
OPT ?= -O2
SAN ?=
CFLAGS := -std=c11 -Wall -Wextra -Werror $(OPT) -g -Iinclude \
	-D_DEFAULT_SOURCE -MMD -MP $(SAN)
LDFLAGS := $(SAN)
LIBS := -lxxhash -lsodium -ljansson -lzstd -larchive -lelf -lext2fs -lcom_err -lpthread
GUEST_DIR := $(abspath $(B))/guest

VMM_SRCS := $(wildcard src/base/*.c src/vmm/*.c src/devices/*.c src/sim/*.c src/fault/*.c \
	src/run/*.c src/explore/*.c src/replay/*.c)
CLI_SRCS := $(wildcard src/cli/*.c)
VMM_OBJS := $(VMM_SRCS:%.c=$(B)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
LIBCC := $(B)/libcc.a
CHAOSCONTROL := $(B)/chaoscontrol

UNIT_TESTS :=
MICRO_GUESTS :=
GUEST_ALL :=

.PHONY: all setup vmm guest kernel kernel-kcov micro fuzz run test test-unit test-micro raft-coverage test-hw-ci bench-here \
	test-linux test-hw bench asan test-asan-kvm clean format FORCE
.DEFAULT_GOAL := all

all: vmm guest

# Debian packages first: everything else needs them.
SETUP_STAMP := $(B)/.setup-ok
setup: $(SETUP_STAMP)
$(SETUP_STAMP): mk/setup.sh mk/packages.txt
	@mkdir -p $(B)
	@bash mk/setup.sh
	@touch $@

vmm: $(CHAOSCONTROL)

$(B)/obj/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/src/cli/main.o: CFLAGS += -DCC_GUEST_DIR='"$(GUEST_DIR)"'

$(LIBCC): $(VMM_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(CHAOSCONTROL): $(CLI_OBJS) $(LIBCC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The guest kernel is built once per machine and cached outside the tree
# (guest/kernel/build.sh); here we only link to the cached files.
kernel: $(B)/guest/vmlinux
$(B)/guest/vmlinux: FORCE | $(SETUP_STAMP)
	@mkdir -p $(B)/guest
	@d=$$(bash guest/kernel/build.sh) && \
		ln -sfn "$$d/vmlinux" $@ && ln -sfn "$$d/bzImage" $(B)/guest/bzImage

# The KCOV flavour (kernel coverage; its hooks multiply the instructions
# PVM emulates, so it is not the default).  Built on demand.
kernel-kcov: $(B)/guest/kcov/vmlinux
$(B)/guest/kcov/vmlinux: FORCE | $(SETUP_STAMP)
	@mkdir -p $(B)/guest/kcov
	@d=$$(bash guest/kernel/build.sh --flavour kcov) && \
		ln -sfn "$$d/vmlinux" $@ && ln -sfn "$$d/bzImage" $(B)/guest/kcov/bzImage

include guest/guest.mk
include guest/micro/micro.mk

guest: $(B)/guest/vmlinux $(GUEST_ALL) $(MICRO_GUESTS)

# ---- tests ---------------------------------------------------------------
TEST_LIBS := $(LIBCC) -lcriterion -lz $(LIBS) -lm
$(B)/tests/%: tests/%.c tests/helpers.c tests/helpers.h $(LIBCC) \
		| $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Itests -DCC_BUILD_DIR='"$(abspath $(B))"' \
		-o $@ $< tests/helpers.c $(TEST_EXTRA) $(TEST_LIBS) $(LDFLAGS)
# Tests of host-side guest tools link the tool's module too.
$(B)/tests/unit/test_cpio: TEST_EXTRA := guest/initramfs/cpio.c
$(B)/tests/unit/test_cpio: guest/initramfs/cpio.c
# The SDK outside a VM: sdkcheck built for the host (glibc), run by
# test_sdk in local-output and no-op modes.
$(B)/tests/sdkcheck-host: guest/programs/sdkcheck.c $(SDK_DEPS) \
		| $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Isdk $(SAN) \
		-o $@ $< $(SDK_SRCS)
# The Raft core outside a VM, instrumented for line coverage (gcov),
# which `make test` reports after the suites.
RAFT_COV := $(B)/tests/raft/raft.o
$(RAFT_COV): guest/programs/raft/raft.c guest/programs/raft/raft.h \
		| $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) --coverage -c -o $@ $<
$(B)/tests/unit/test_raft: TEST_EXTRA := $(RAFT_COV) -lgcov
$(B)/tests/unit/test_raft: $(RAFT_COV)
$(B)/tests/unit/test_sdk: $(B)/tests/sdkcheck-host $(B)/tests/host/voidstar_glibc \
	$(B)/guest/lib/libvoidstar.so

# Programs built for the host, dynamically linked, packed with their
# libraries into the host-programs image (`chaoscontrol image build`):
# the TSC readers (glibc C, C++, Go) for test_tsc, and voidstar_user
# built against glibc, which must load the freestanding libvoidstar.so.
H := $(B)/tests/host
HOST_PROGS := $(H)/tsc_c $(H)/tsc_cpp $(H)/tsc_go $(H)/voidstar_glibc \
	$(H)/spin_alarm
$(H)/spin_alarm: tests/linux/spin/spin_alarm.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<
$(H)/tsc_c: tests/linux/tsc/tsc_c.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<
$(H)/voidstar_glibc: guest/programs/voidstar_user.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<
$(H)/tsc_cpp: tests/linux/tsc/tsc_cpp.cpp | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	g++ -std=c++17 -O2 -Wall -Wextra -Werror -o $@ $<
# Offline and reproducible: no module downloads, no toolchain switch.
$(H)/tsc_go: $(wildcard tests/linux/tsc/go/*) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	cd tests/linux/tsc/go && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
		GOCACHE=$(abspath $(B))/go-cache GOPATH=$(abspath $(B))/go-path \
		CGO_ENABLED=0 go build -trimpath -o $(abspath $@) .
$(B)/tests/linux/test_tsc $(B)/tests/linux/test_sdk \
	$(B)/tests/linux/test_spin: $(HOST_PROGS)

UNIT_TESTS += $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/unit/*.c))
MICRO_TESTS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/micro/*.c))
LINUX_TESTS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/linux/*.c))

# The tiers that need KVM run on this host's /dev/kvm, or, on a host
# without one, on hardware KVM inside QEMU (tests/kvm.sh).
test-unit: $(CHAOSCONTROL) $(UNIT_TESTS)
	@bash tests/run.sh unit $(UNIT_TESTS)
test-micro: $(CHAOSCONTROL) $(MICRO_GUESTS) $(MICRO_TESTS)
	@bash tests/kvm.sh $(B) micro
# The Linux tier also boots the KCOV kernel (SDK kernel coverage).
test-linux: all kernel-kcov $(LINUX_TESTS)
	@bash tests/kvm.sh $(B) linux

test: all kernel-kcov $(UNIT_TESTS) $(MICRO_TESTS) $(LINUX_TESTS)
	@rm -f $(B)/tests/raft/raft.gcda
	@bash tests/run.sh unit $(UNIT_TESTS)
	@bash tests/kvm.sh $(B) micro linux
	@$(MAKE) --no-print-directory raft-coverage

# Line coverage of the Raft core by its unit tests (run them first).
raft-coverage:
	@test -f $(B)/tests/raft/raft.gcda || $(B)/tests/unit/test_raft -j2 >/dev/null
	@gcov -n -o $(B)/tests/raft guest/programs/raft/raft.c \
		| sed -n "/raft.c'/{n;s/^/raft core coverage (unit tests): /p}"

# The hardware-KVM tier: the same test binaries, run inside a QEMU TCG
# VM whose emulated AMD CPU has SVM, so /dev/kvm there is real KVM, not
# PVM (tests/hw/run.sh; the outer kernel is cached like the guest's).
HW_TIERS ?= unit micro linux
test-hw: all kernel-kcov $(UNIT_TESTS) $(MICRO_TESTS) $(LINUX_TESTS)
	@bash tests/hw/run.sh $(B) $(HW_TIERS)
# CI's share of it: the suites whose subject differs on hardware KVM
# (platform probe, CPUID, TSC, the PIO transport, determinism across
# boots and restores); the rest is the same code on both platforms and
# runs on PVM in `make test` (docs/ARCHITECTURE.md, "Test tiers").
HW_CI_TIERS := unit:test_boot micro \
	linux:test_tsc,test_sdk,test_hostile,test_linux_snapshot,test_boot_cache
test-hw-ci: all kernel-kcov $(UNIT_TESTS) $(MICRO_TESTS) $(LINUX_TESTS)
	@bash tests/hw/run.sh $(B) $(HW_CI_TIERS)

# ---- running ------------------------------------------------------------
# The 3-VM kvstore cluster under the sample schedule; exit 1 means a
# property failed, which is what the schedule is there to show.
# Without /dev/kvm here, it runs inside QEMU (tests/hw/exec.sh).
run: all
	bash tests/hw/exec.sh $(B) $(CHAOSCONTROL) run --vms 3 --seed 1 \
		--ticks 3000 --schedule examples/kvstore-faults.json || \
		test $$? -eq 1

BENCH_PROGS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
$(B)/bench/%: bench/%.c bench/bench.h $(LIBCC) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -DCC_BUILD_DIR='"$(abspath $(B))"' -o $@ $< \
		$(LIBCC) $(LIBS) $(LDFLAGS)

$(B)/bench/sdk_host: bench/sdk/sdk_host.c $(SDK_DEPS) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Isdk -o $@ $< \
		$(SDK_SRCS)

# On a host without /dev/kvm the benchmarks run inside QEMU, on hardware
# KVM (tests/hw/exec.sh), and their output comes when they end.
bench: all $(BENCH_PROGS) $(B)/bench/sdk_host
	@bash tests/hw/exec.sh $(B) $(MAKE) --no-print-directory bench-here
bench-here:
	@echo "== exit cost"
	@$(B)/bench/exit_cost
	@echo "== snapshot restore cost"
	@$(B)/bench/restore_cost
	@echo "== dirty-page tracking: KVM dirty log vs dirty ring"
	@$(B)/bench/dirty_tracking
	@echo "== SDK call cost (VM side, then guest side natively)"
	@$(B)/bench/sdk_cost
	@env -u CHAOSCONTROL_SDK_LOCAL_OUTPUT -u ANTITHESIS_SDK_LOCAL_OUTPUT \
		$(B)/bench/sdk_host
	@CHAOSCONTROL_SDK_LOCAL_OUTPUT=/dev/null $(B)/bench/sdk_host
	@bash bench/boot.sh $(CHAOSCONTROL) $(B)
	@echo "== fabric and schedule scaling: cost per item at N and 10 N"
	@$(B)/bench/sim_scale
	@echo "== cluster: virtual ticks per wall second, sequential vs threaded"
	@bash bench/cluster.sh $(CHAOSCONTROL)
	@echo "== cluster boot: N nodes and two images against one VM, cold"
	@bash bench/cluster_boot.sh $(CHAOSCONTROL)
	@echo "== the correct Raft under random faults, 30 minutes (docs/RAFT.md)"
	@CHAOSCONTROL=$(CHAOSCONTROL) bash bench/raft_soak.sh 1800
	@echo "== the explorer: branches per minute (1 and 2 workers), restore share, snapshot bytes"
	@CHAOSCONTROL=$(CHAOSCONTROL) bash bench/explore.sh 64
	@echo "== the explorer killed with -9 20 times and resumed: the same campaign"
	@CHAOSCONTROL=$(CHAOSCONTROL) bash bench/resume.sh 20 48
	@echo "== the explorer against the six seeded Raft bugs (docs/EXPLORE.md)"
	@CHAOSCONTROL=$(CHAOSCONTROL) bash bench/bughunt.sh 3 200

asan:
	$(MAKE) B=build-asan OPT=-O1 \
		SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
		test-unit test-asan-kvm
# The KVM tiers under the sanitizers, in one boot where they run in QEMU:
# every micro suite (the cluster controller and fabric among them) and
# Linux guests through every device (blk, net, rng, the image disk) and
# a hostile guest's inputs.  The rest of the Linux tier is the same code
# as these, and takes ~25 minutes there.
ASAN_LINUX_SUITES := test_virtio,test_hostile
test-asan-kvm: all $(MICRO_TESTS) $(LINUX_TESTS)
	@bash tests/kvm.sh $(B) micro linux:$(ASAN_LINUX_SUITES)

# ---- fuzzing (libFuzzer, clang) -------------------------------------------
# Each target runs FUZZ_SECONDS (default 600); CI runs them briefly.
# Optional per target: tests/fuzz/NAME.dict, seeds in tests/fuzz/seeds/NAME/.
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS := -std=c11 -g -O1 -Iinclude -Isrc -D_DEFAULT_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,\
	$(wildcard tests/fuzz/*.c))
# The VMM is compiled for fuzzing once, into a library every target
# links (not once per target: 19 targets of ~70 files each).
FUZZ_OBJS := $(VMM_SRCS:%.c=$(B)/fuzzobj/%.o)
FUZZ_LIB := $(B)/fuzz/libcc-fuzz.a
$(B)/fuzzobj/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/seed.h $(FUZZ_LIB) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB) $(LIBS)

# FUZZ_JOBS targets at a time (one per core by default), each for
# FUZZ_SECONDS; a crash prints its log's tail and fails the run.
FUZZ_JOBS ?= $(shell nproc)
fuzz: $(FUZZ_TARGETS)
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_JOBS) -I{} \
		bash tests/fuzz/run_one.sh {} $(FUZZ_SECONDS) $(B)

format:
	clang-format -i $(VMM_SRCS) $(CLI_SRCS) $(wildcard src/*/*.h tests/*/*.c)

clean:
	rm -rf build build-asan

-include $(shell find $(B)/obj $(B)/tests $(B)/fuzzobj -name '*.d' 2>/dev/null)
