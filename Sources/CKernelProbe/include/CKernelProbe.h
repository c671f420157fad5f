/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of the KernelProbe module: libbpf's API, the kernel/user ABI
 * (bpf/mbcas.h) and a few typed shims over the generated skeleton, which
 * embeds the compiled BPF object so a node needs no compiler or headers.
 * Every shim is prefixed mbcas_ and says why it exists.
 */
#ifndef CKERNELPROBE_H
#define CKERNELPROBE_H

#include <stddef.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "../../../bpf/mbcas.h"

/* Which set of programs to load. */
enum mbcas_attach_mode {
	MBCAS_ATTACH_AUTO = 0,     /* user space picks BTF or RAW (mbcas_btf_tracepoints_unsupported) */
	MBCAS_ATTACH_BTF = 1,      /* tp_btf only: direct, cheap reads of kernel memory */
	MBCAS_ATTACH_RAW = 2,      /* raw_tp only: bpf_probe_read, for kernels without tp_btf */
	MBCAS_ATTACH_BASELINE = 3, /* benchmarks only: an empty program on sched_switch */
};

/* Options fixed at load time (the probe's .rodata, tunables in its .bss, and map sizes). */
struct mbcas_probe_config {
	__u32 attach_mode;         /* enum mbcas_attach_mode */
	const char *pin_root;      /* bpffs directory for the pinned maps, e.g. /sys/fs/bpf/mbcas */
	__u32 ringbuf_bytes;       /* ring-buffer size: a power of two, at least a page; 0 = default */
	__u32 filter_cgroups;      /* 1: count only cgroups added to watched_cgroups */
	__u64 wait_threshold_ns;   /* push a RUNQ_WAIT event past this much wait... */
	__u64 wait_window_ns;      /* ...within this window, per cgroup and CPU */
	__u32 max_cgroups;         /* entries of the per-cgroup maps (and open episodes); 0 = MBCAS_MAX_CGROUPS */
	__u32 max_tasks;           /* entries of the per-task hash (raw_tp; tp_btf before 6.4); 0 = MBCAS_MAX_TASKS */
	__u32 cache_slots;         /* slots of the cgroup cache per CPU, a power of two; 0 = MBCAS_CACHE_SLOTS */
};

/* The maps user space reads or writes. */
enum mbcas_probe_map {
	MBCAS_MAP_CGROUP_STATS = 0,
	MBCAS_MAP_OPEN_EPISODES = 1,
	MBCAS_MAP_COUNTERS = 2,
	MBCAS_MAP_WATCHED_CGROUPS = 3,
	MBCAS_MAP_EVENTS = 4,
	MBCAS_MAP_POD_ALLOCATIONS = 5,
	MBCAS_MAP_NODE_MARKET = 6,
	MBCAS_MAP_TASK_STATES = 7,  /* per-task hash (both sets) */
	MBCAS_MAP_THROTTLE_MARKS = 8,
	MBCAS_MAP_TASK_STORAGE = 9, /* task-local storage: created only where tp_btf uses it (6.4+) */
	MBCAS_MAP_CGROUP_CACHE = 10, /* each CPU's slots holding most cgroups' stats (struct mbcas_cgroup_slot) */
};

/* A loaded probe: the skeleton behind an opaque pointer. */
struct mbcas_probe;

/*
 * Open the embedded object, apply the config (attach_mode BTF, RAW or
 * BASELINE; AUTO is -EINVAL), load it into the kernel
 * (CO-RE relocations against /sys/kernel/btf/vmlinux) and pin the maps.
 * Returns 0 or a negative errno; libbpf explains failures (including the
 * verifier log) through the log handler below.
 */
int mbcas_probe_open_and_load(const struct mbcas_probe_config *config, struct mbcas_probe **out);

/*
 * Whether this kernel lacks what the tp_btf set needs: 0 when it has it all,
 * else 1 with the first missing piece written to reason. Probed before the
 * load, so that AUTO falls back to raw_tp only for a missing feature and
 * never hides a verifier rejection of the tp_btf set.
 */
int mbcas_btf_tracepoints_unsupported(char *reason, size_t size);

/* The mode actually loaded (MBCAS_ATTACH_BTF or MBCAS_ATTACH_RAW). */
/* Kernel options whose fields the probe reads, when the running kernel lacks them (mbcas_kernel_missing_features). */
enum mbcas_missing_feature {
	MBCAS_MISSING_FAIR_GROUP_SCHED = 1, /* cfs_rq::tg: no per-cgroup CPU accounting at all (load refused) */
	MBCAS_MISSING_CFS_BANDWIDTH = 2,    /* task_group::cfs_bandwidth: no quotas, so no throttling counted */
	MBCAS_MISSING_SCHED_INFO = 4,       /* task_struct::sched_info: run-queue wait not counted */
};

/* A mask of enum mbcas_missing_feature, from the kernel's BTF; 0 when all are there (or no BTF). */
int mbcas_kernel_missing_features(void);

int mbcas_probe_attach_mode(const struct mbcas_probe *probe);

/* Attach every loaded program to its tracepoint. 0 or a negative errno. */
int mbcas_probe_attach(struct mbcas_probe *probe);

/* Make every cgroup cache slot be checked again before use: after the watched cgroups change. */
void mbcas_probe_invalidate_cache(struct mbcas_probe *probe);

/* File descriptor of one of the probe's maps (owned by the probe); -ENOENT for a map this set does not create. */
int mbcas_probe_map_fd(const struct mbcas_probe *probe, enum mbcas_probe_map map);

/* Capacity (max_entries) of one of the probe's maps, or a negative errno. */
int mbcas_probe_map_capacity(const struct mbcas_probe *probe, enum mbcas_probe_map map);

/* Number of loaded programs, and the file descriptor of program i (for BPF run-time stats). */
int mbcas_probe_program_count(const struct mbcas_probe *probe);
int mbcas_probe_program_fd(const struct mbcas_probe *probe, int index);
const char *mbcas_probe_program_name(const struct mbcas_probe *probe, int index);

/* Remove the pinned maps from bpffs (the kernel frees them once unused). */
void mbcas_probe_unpin(struct mbcas_probe *probe);

/* Detach, close every fd and free. Pins stay unless unpinned first. */
void mbcas_probe_destroy(struct mbcas_probe *probe);

/*
 * libbpf prints through a variadic callback Swift cannot implement; this
 * formats each message and hands it to a plain C function pointer instead.
 * level is enum libbpf_print_level. Pass NULL to silence libbpf.
 */
typedef void (*mbcas_log_handler)(int level, const char *message);
void mbcas_set_log_handler(mbcas_log_handler handler);

/*
 * statfs(2)'s f_type (the filesystem magic) of path, or a negative errno.
 * Exists because sys/vfs.h is not in the Glibc module Swift imports; used
 * to tell a mounted bpffs apart from a plain directory.
 */
long mbcas_filesystem_magic(const char *path);

/*
 * Names the calling thread (shows in top -H, perf). Exists because
 * pthread_setname_np needs _GNU_SOURCE, which the Glibc module lacks.
 */
int mbcas_set_thread_name(const char *name);

#endif /* CKERNELPROBE_H */
