# virtio-grant — see README.md.  `make demo` and `make check` install their
# own Debian dependencies (mk/deps.sh).
#
# Variables: CC (gcc|clang), BUILD (output dir), SAN=1 (ASan+UBSan), COV=1
# (clang source-based coverage), WERROR=0, XEN_CFLAGS/XEN_LDFLAGS (a cross
# sysroot's Xen headers and libraries).

CC      ?= gcc
BUILD   ?= build
WERROR  ?= 1
SAN     ?= 0

CFLAGS_BASE := -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -D_FORTIFY_SOURCE=2 -D__XEN_TOOLS__ -fno-strict-aliasing
ifeq ($(WERROR),1)
CFLAGS_BASE += -Werror
endif
ifeq ($(FUZZ),1)
CFLAGS_BASE += -fsanitize=fuzzer-no-link
endif
ifeq ($(COV),1)
CFLAGS_BASE += -fprofile-instr-generate -fcoverage-mapping
LDFLAGS     += -fprofile-instr-generate
endif
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
LDFLAGS     += -fsanitize=address,undefined
endif
CFLAGS  ?=
CFLAGS  += $(CFLAGS_BASE)
INC_BE  := -Ibackend
INC_SIM := -Ixensim/include
# liburing: image I/O (backend/aio), in every binary that links the backend core.
URING   := -luring
XENLIBS := -lxendevicemodel -lxenforeignmemory -lxengnttab -lxenevtchn -lxentoolcore -lxenstore \
           -lseccomp $(URING)
# The simulator implements xenstore too (xensim/lib/sim_xenstore.c): the sim
# build links no real Xen library, only libseccomp and liburing.
SIM_XENLIBS := -lseccomp $(URING)

BE_SRCS  := backend/common/log.c backend/config/config.c backend/gmem/gmem.c backend/gmem/span.c backend/gmem/persist.c backend/gmem/copy.c \
            backend/aio/aio.c backend/virtq/ring.c backend/virtq/virtq.c backend/devices/blk.c backend/transport/mmio.c backend/transport/pcicfg.c backend/transport/msix.c backend/transport/pci.c \
            backend/transport/saved.c backend/transport/resume.c \
            backend/xen/ioreq.c
# The daemon around the core: the launcher, the launcher/device messages, the
# jail, main.  The sandbox test binary swaps probe_none.c for
# tests/sandbox/probe_forbidden.c; the real binary adds the real Xen
# libraries' seccomp rules (platform_xen.c), the simulated one xensim's.
DAEMON_SRCS := backend/ipc/devmsg.c backend/launcher/launcher.c backend/launcher/tsinput.c \
               backend/launcher/image.c backend/launcher/devlog.c backend/launcher/devproc.c \
               backend/launcher/closedirs.c backend/launcher/adopt.c backend/launcher/status.c \
               backend/sandbox/sandbox.c backend/sandbox/rules.c \
               backend/main.c
XEN_PLATFORM_SRCS := backend/sandbox/platform_xen.c
PROBE_SRCS := $(DAEMON_SRCS) tests/sandbox/probe_forbidden.c
SIM_SRCS := xensim/lib/sim_common.c xensim/lib/sim_devicemodel.c xensim/lib/sim_evtchn.c \
            xensim/lib/sim_gnttab.c xensim/lib/sim_foreignmemory.c xensim/lib/sim_xenstore.c \
            xensim/lib/sim_sandbox.c xensim/lib/sim_toolcore.c xensim/lib/sim_ledger.c
GUEST_SRCS := xensim/guest/simdom.c xensim/guest/vdrv.c xensim/guest/vdrv_pci.c xensim/guest/harness.c xensim/guest/simxs.c \
              xensim/guest/simxs_ops.c xensim/guest/simxs_tree.c xensim/guest/simxs_txn.c
RIG_SRCS   := tests/common/rig.c tests/common/toolstack.c tests/common/flood.c tests/common/hostile.c
INPROC_SRCS := tests/common/inproc.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BE_OBJS    := $(call obj,$(BE_SRCS))
SIM_OBJS   := $(call obj,$(SIM_SRCS))
GUEST_OBJS := $(call obj,$(GUEST_SRCS))

BINS := $(BUILD)/virtio-grant $(BUILD)/virtio-grant-sim $(BUILD)/xensim-demo $(BUILD)/xensim-bench \
        $(BUILD)/vg-grant-peak

UNIT_TESTS := $(BUILD)/tests/test_mmio $(BUILD)/tests/test_pci $(BUILD)/tests/test_pcicfg $(BUILD)/tests/test_msix $(BUILD)/tests/test_ioreq_pci $(BUILD)/tests/test_resume $(BUILD)/tests/test_virtq $(BUILD)/tests/test_gmem \
              $(BUILD)/tests/test_blk $(BUILD)/tests/test_blk_hostio \
              $(BUILD)/tests/test_config $(BUILD)/tests/test_simxs $(BUILD)/tests/test_simxs_txn \
              $(BUILD)/tests/test_closedirs $(BUILD)/tests/test_log $(BUILD)/tests/test_devproc_stats
INTEG_TESTS := $(BUILD)/tests/test_sim_blk $(BUILD)/tests/test_sim_pci $(BUILD)/tests/test_hostile $(BUILD)/tests/test_hostile_branches $(BUILD)/tests/test_hostile_pool $(BUILD)/tests/test_hostile_pci \
               $(BUILD)/tests/test_sandbox \
               $(BUILD)/tests/test_double_fetch $(BUILD)/tests/test_launcher \
               $(BUILD)/tests/test_launcher_dd $(BUILD)/tests/test_soak $(BUILD)/tests/test_restart

# keep objects built through pattern rules
.SECONDARY:

.PHONY: all deps deps-test demo check test test-unit test-integration test-matrix coverage e2e e2e-x86 bench bench-sim bench-sim-smoke soak spec sandbox-coverage integ-bins \
        spec-check fuzz fuzz-bins fuzz-long frontend-check prove install package clean

all: deps $(BINS)

deps:
	@./mk/deps.sh build

deps-test:
	@./mk/deps.sh test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(XEN_CFLAGS) $(INC_BE) $(INC_SIM) -MMD -MP -c $< -o $@

$(BUILD)/libxensim.a: $(SIM_OBJS)
	ar rcs $@ $^

# The guest side also plays the toolstack, through the simulated libxenstore.
$(BUILD)/libsimguest.a: $(GUEST_OBJS) $(call obj,xensim/lib/sim_common.c xensim/lib/sim_xenstore.c \
                                        xensim/lib/sim_ledger.c)
	ar rcs $@ $^

# The same backend objects, linked against real Xen or against the simulator.
$(BUILD)/virtio-grant: $(BE_OBJS) $(call obj,$(DAEMON_SRCS) backend/sandbox/probe_none.c \
                       $(XEN_PLATFORM_SRCS))
	$(CC) $(LDFLAGS) $(XEN_LDFLAGS) -o $@ $^ $(XENLIBS)

$(BUILD)/virtio-grant-sim: $(BE_OBJS) $(call obj,$(DAEMON_SRCS) backend/sandbox/probe_none.c) \
                           $(BUILD)/libxensim.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SIM_XENLIBS)

# Test-only: the sim backend that attempts a forbidden call once sandboxed.
$(BUILD)/tests/virtio-grant-probe: $(BE_OBJS) $(call obj,$(PROBE_SRCS)) $(BUILD)/libxensim.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SIM_XENLIBS)

# Test-only: runs the backend where io_uring_setup is refused.
$(BUILD)/tests/no-uring: $(call obj,tests/common/no_uring.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lseccomp

# The same, against the real libraries (for the real-Xen e2e).
$(BUILD)/virtio-grant-probe: $(BE_OBJS) $(call obj,$(PROBE_SRCS) $(XEN_PLATFORM_SRCS))
	$(CC) $(LDFLAGS) $(XEN_LDFLAGS) -o $@ $^ $(XENLIBS)

# make bench's dom0 tool: a guest's granted pages, sampled (real Xen only).
$(BUILD)/vg-grant-peak: $(call obj,tests/bench/grant_peak.c)
	$(CC) $(LDFLAGS) $(XEN_LDFLAGS) -o $@ $^ -lxenforeignmemory

$(BUILD)/xensim-bench: $(call obj,xensim/tools/bench_sim.c xensim/tools/session.c) $(BUILD)/libsimguest.a
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/xensim-demo: $(call obj,xensim/tools/demo.c xensim/tools/session.c) $(BUILD)/libsimguest.a
	$(CC) $(LDFLAGS) -o $@ $^ -lm

# The launcher's closed-directory duty, alone over the simulated xenstored.
$(BUILD)/tests/test_closedirs: $(call obj,backend/launcher/closedirs.c backend/launcher/tsinput.c)

# The launcher's reader of device messages, against a stand-in device.
$(BUILD)/tests/test_devproc_stats: $(call obj,backend/launcher/devproc.c backend/launcher/devlog.c \
                                    backend/ipc/devmsg.c)

# The transport tests share one fixture.
$(BUILD)/tests/test_mmio $(BUILD)/tests/test_resume $(BUILD)/tests/test_pci: $(call obj,tests/unit/mmio_fixture.c)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(call obj,$(INPROC_SRCS)) $(BE_OBJS) \
                       $(BUILD)/libxensim.a \
                       $(BUILD)/libsimguest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(URING)

$(BUILD)/tests/test_%: $(call obj,tests/integration/test_%.c $(RIG_SRCS)) \
                       $(BUILD)/libsimguest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka

# The launcher's tests (dom0 and driver domain) share their rig.
LAUNCHER_TESTS := $(BUILD)/tests/test_launcher $(BUILD)/tests/test_launcher_dd $(BUILD)/tests/test_soak \
                  $(BUILD)/tests/test_restart
$(LAUNCHER_TESTS): $(BUILD)/tests/%: $(BUILD)/obj/tests/integration/%.o \
                   $(call obj,tests/integration/launcher_rig.c $(RIG_SRCS)) $(BUILD)/libsimguest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka

# libFuzzer harnesses (clang, ASan+UBSan), two at a time: make fuzz [FUZZ_SECONDS=60].
FUZZERS   := mmio virtq blk device ioreq tsinput config vqgraph pcicfg msix pci
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
# Seconds per harness: make fuzz 60 unless given, make fuzz-long 3600.
FUZZ_SECONDS ?=

$(BUILD)/fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.c $(INPROC_SRCS)) \
                      $(BE_OBJS) $(BUILD)/libxensim.a $(BUILD)/libsimguest.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(URING)

# The launcher's toolstack parsing, with the harness's own xs_read.
$(BUILD)/fuzz/fuzz_tsinput: $(call obj,backend/launcher/tsinput.c)

fuzz-bins: $(FUZZ_BINS)

fuzz: deps deps-test
	$(MAKE) BUILD=build/fuzz CC=clang SAN=1 FUZZ=1 fuzz-bins
	./tests/fuzz/run.sh build/fuzz/fuzz $(or $(FUZZ_SECONDS),60) $(FUZZERS)

# Every harness for an hour (FUZZ_SECONDS), two at a time, then the committed
# corpora minimised with what was found (commit tests/fuzz/corpus/ after).
fuzz-long: deps deps-test
	$(MAKE) BUILD=build/fuzz CC=clang SAN=1 FUZZ=1 fuzz-bins
	MERGE=1 ./tests/fuzz/run.sh build/fuzz/fuzz $(or $(FUZZ_SECONDS),3600) $(FUZZERS)

demo: deps $(BINS)
	./$(BUILD)/xensim-demo --backend ./$(BUILD)/virtio-grant-sim

test-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# INTEG_SKIP: suites a build cannot run (make coverage: test_sandbox's jail kills
# a process that writes its profile at exit; its rules are covered by sandbox-coverage).
test-integration: integ-bins
	@set -e; for t in $(filter-out $(INTEG_SKIP),$(INTEG_TESTS)); do echo "== $$t"; \
	  VG_BACKEND=./$(BUILD)/virtio-grant-sim \
	  VG_PROBE_BACKEND=./$(BUILD)/tests/virtio-grant-probe $$t; done

test: test-unit test-integration

# gcc, clang, and gcc with ASan+UBSan: each in its own build directory.
test-matrix: deps-test
	$(MAKE) BUILD=build/gcc CC=gcc all test
	$(MAKE) BUILD=build/clang CC=clang all test
	VG_TEST_SANDBOX=off ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) BUILD=build/san CC=gcc SAN=1 all test

# Every seccomp rule the simulator suites should reach is reached (strace).
sandbox-coverage: deps-test
	$(MAKE) BUILD=build/gcc CC=gcc integ-bins
	./tests/sandbox/rule-coverage.sh build/gcc

integ-bins: $(INTEG_TESTS) $(BUILD)/virtio-grant-sim $(BUILD)/tests/virtio-grant-probe \
            $(BUILD)/tests/no-uring

# Line and branch coverage of every backend file over the unit and integration
# suites (clang, sandbox off: a jailed process cannot write its profile), and
# the floors they must not fall below (tests/coverage/floors.txt).
coverage: deps-test
	rm -rf build/cov/prof
	LLVM_PROFILE_FILE=$(CURDIR)/build/cov/prof/%4m.profraw VG_TEST_SANDBOX=off \
	  $(MAKE) BUILD=build/cov CC=clang COV=1 INTEG_SKIP=build/cov/tests/test_sandbox all test
	./tests/coverage/report.sh build/cov

# Frama-C EVA over the ring walker, the accessor and the transport (tests/prove/run.sh), ~4 min.
prove: deps deps-test
	./tests/prove/run.sh build/prove

check: deps deps-test test-matrix sandbox-coverage coverage prove bench-sim-smoke fuzz spec spec-check frontend-check package e2e

# make install [PREFIX=/usr/local] [DESTDIR=]: the daemon, its manual, the
# FLASK policy module, the systemd unit and its defaults file.  Builds only
# the real-Xen binary (the package build calls it with PREFIX=/usr).
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/virtio-grant
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
install: $(BUILD)/virtio-grant
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/flask \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BUILD)/virtio-grant $(DESTDIR)$(SBINDIR)/virtio-grant
	install -m 0644 docs/virtio-grant.8 $(DESTDIR)$(MANDIR)/man8/virtio-grant.8
	install -m 0644 policy/flask/vg.te policy/flask/README.md $(DESTDIR)$(DATADIR)/flask/
	sed 's|/usr/sbin/virtio-grant|$(SBINDIR)/virtio-grant|' packaging/virtio-grant.service \
	  > $(DESTDIR)$(UNITDIR)/virtio-grant.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/virtio-grant.service
	install -m 0644 packaging/virtio-grant.default $(DESTDIR)$(SYSCONFDIR)/default/virtio-grant

# The Debian package of the committed tree: built, lintian-clean (no error,
# no warning), installed with dpkg -i and checked, then purged (KEEP=1 keeps it).
package:
	@./mk/deps.sh package
	./packaging/check-deb.sh build/pkg

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Real Xen 4.17 on Arm under qemu-system-aarch64 (TCG): dom0, libxl-created
# domUs, this backend.  Artifacts are cached in /var/cache/virtio-grant-e2e
# (VG_E2E_CACHE); see tests/e2e/README.md.
e2e:
	./tests/e2e/run.sh

# Real Xen 4.17 on x86 under qemu-system-x86_64 (TCG, nested SVM): HVM guests
# whose disks are virtio-pci functions of device processes started by hand
# (issue 16; tests/e2e/x86/).  Not part of check: a cold check is already
# past its 45 minutes, and this adds 941 s cold (575 s of QEMU install, fetch
# and kernel build, 366 s of boots) and 401 s warm, measured 2026-12-04.
e2e-x86:
	./tests/e2e/x86/run.sh

# Guest lifetimes, one after another (issue 15): 200 on the simulator, then
# the e2e's lifecycle group with 200 on real Xen; check runs 20 of each.
# And device processes killed under I/O: 1000 on the simulator (check: 40).
soak: deps deps-test integ-bins
	VG_SOAK_CYCLES=200 VG_BACKEND=./$(BUILD)/virtio-grant-sim ./$(BUILD)/tests/test_soak
	VG_RESTART_KILLS=1000 VG_BACKEND=./$(BUILD)/virtio-grant-sim ./$(BUILD)/tests/test_restart
	VG_E2E_ONLY=lifecycle VG_E2E_SOAK=200 VG_E2E_TIMEOUT=$${VG_E2E_TIMEOUT:-7200} \
	  VG_E2E_LOG=$(BUILD)/soak/serial.log VG_E2E_BENCH_OUT=$(BUILD)/soak/bench ./tests/e2e/run.sh

# The bench's workloads and CSV on the simulator, every row labelled simulated
# (build/bench-sim); check runs a smaller count of each.
bench-sim: deps $(BUILD)/virtio-grant-sim $(BUILD)/xensim-bench
	@mkdir -p $(BUILD)/bench-sim
	./$(BUILD)/xensim-bench ./$(BUILD)/virtio-grant-sim $(BUILD)/bench-sim/results.csv $(BENCH_SIM_LEVEL)
	python3 tests/bench/report.py $(BUILD)/bench-sim/results.csv $(BUILD)/bench-sim --simulated

bench-sim-smoke:
	$(MAKE) bench-sim BENCH_SIM_LEVEL=smoke

# tests/bench: one boot of real Xen, fio in one domU per mode (grant, pool,
# grant-copy, foreign, foreign-premap, PV blkback); build/bench/results.csv,
# summary.md and PNG plots.  Not part of check, which runs its smoke (in e2e).
bench:
	VG_E2E_BENCH=full VG_E2E_TIMEOUT=$${VG_E2E_TIMEOUT:-5400} \
	  VG_E2E_LOG=$(BUILD)/bench/serial.log VG_E2E_BENCH_OUT=$(BUILD)/bench ./tests/e2e/run.sh

# The Linux series (frontend-linux/patches): applies to the pinned
# linux-source-6.1, checkpatch --strict clean, builds for x86_64 too.
frontend-check:
	./frontend-linux/check.sh

# The draft virtio extension (spec/): PDF in build/spec/, and the table of
# requirements and the tests that cover them.
spec:
	./spec/build.sh

spec-check:
	./spec/check-trace.sh
