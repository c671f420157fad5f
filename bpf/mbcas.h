/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs (mbcas.bpf.c) and user space
 * (Swift imports it through the CKernelProbe module). Every struct that
 * crosses the kernel/user boundary is defined here and nowhere else.
 *
 * Rules: fixed-width types only (no bool: Swift imports it differently),
 * explicit padding, sizes pinned by _Static_assert here and by a Swift
 * MemoryLayout test, so both sides always agree.
 */
#ifndef MBCAS_H
#define MBCAS_H

#ifdef __BPF__
/* BPF side: types come from the UAPI headers included before this one. */
#else
#include <linux/types.h>
#endif

/* Default capacity of the per-cgroup maps (user space sizes them at load): a node rarely has more cgroups than this. */
#define MBCAS_MAX_CGROUPS 16384
/* Slots of the cgroup cache per CPU (a power of two): more than the cgroups that switch on one CPU at once. */
#define MBCAS_CACHE_SLOTS 256
/* Default for the tasks tracked at once in the per-task hash (raw_tp; tp_btf before 6.4): every live task of a counted cgroup that has run. */
#define MBCAS_MAX_TASKS 65536

/* What a pushed event reports. */
enum mbcas_event_kind {
	/* A task was switched out because its CFS bandwidth ran out: a throttle
	 * episode began on that CPU's run queue. cgroup_id is the group whose
	 * quota ran out (the task's own cgroup or an ancestor). Urgent: wakes
	 * user space. */
	MBCAS_EVENT_THROTTLE_START = 1,
	/* The episode ended: a task of the throttled run queue ran again.
	 * delta_ns is the kernel's own: what cpu.stat's throttled time grew by
	 * since the group's previous end event (all its run queues). Batched
	 * (no wake-up). stall_start_ns is the START's, or 0: throttling no
	 * switch-out showed the start of (a run queue throttled as a task was
	 * enqueued on it), claimed at a later switch-out of one of the group's
	 * tasks. */
	MBCAS_EVENT_THROTTLE_END = 2,
	/* The cgroup's run-queue wait on one CPU crossed wait_threshold_ns
	 * within one wait_window_ns window. delta_ns is the wait so far in the
	 * window. Batched (no wake-up). */
	MBCAS_EVENT_RUNQ_WAIT = 3,
};

/*
 * One ring-buffer record. Every record starts with kind, size and the
 * kernel time it was emitted (bpf_ktime_get_ns, i.e. CLOCK_MONOTONIC), so
 * user space can measure push latency against clock_gettime(CLOCK_MONOTONIC).
 */
struct mbcas_event {
	__u16 kind;           /* enum mbcas_event_kind */
	__u16 size;           /* sizeof(struct mbcas_event), for versioning */
	__u32 cpu;            /* CPU the stall was seen on */
	__u64 ktime_ns;       /* when the probe emitted the event */
	__u64 stall_start_ns; /* when the reported stall began */
	__u64 cgroup_id;      /* kernfs id (= directory inode) of the task's cpu cgroup; 0 = root autogroup */
	__u64 delta_ns;       /* END: the kernel's throttled ns since the group's last claim; WAIT: wait in the window; START: 0 */
	__u32 pid;            /* the task that revealed the stall (thread id) */
	__u32 _pad;
};

/*
 * Cumulative per-cgroup statistics, one value per CPU (no atomics on the
 * hot path), in the cgroup_stats per-CPU hash and in cgroup_cache slots
 * (struct mbcas_cgroup_slot): user space sums both, over the CPUs. These
 * maps are the source of truth: events are only hints, so a dropped event
 * loses nothing.
 *
 * Every figure is the kernel's own, read at the context switch: run time
 * from se.sum_exec_runtime, wait from sched_info (run_delay, last_queued),
 * throttling from the group's cfs_bandwidth. So they agree with
 * /proc/<pid>/schedstat and cpu.stat by construction.
 */
struct mbcas_cgroup_stats {
	/* What a common switch touches first (one cache line in a slot, see below). */
	__u64 run_ns;           /* time on CPU (sum_exec_runtime deltas) */
	__u64 wait_ns;          /* run_delay deltas, less a throttled task's delay until it runs again (throttling) */
	__u64 nr_switches;      /* times a task of the cgroup was switched in */
	/* Probe-internal state of this CPU, visible for debugging: the wait window
	 * (in this CPU's rq clock), and the group's throttled_time + nr_throttled
	 * + 1 when a task of it last left this CPU (0: none has yet; both only
	 * grow, so a change means the kernel counted throttling since). */
	__u64 window_start_ns;
	__u64 window_wait_ns;
	__u64 bandwidth_seen;
	/* Claimed at throttle ends and bandwidth changes only (rare). */
	__u64 throttled_ns;     /* cfs_bandwidth.throttled_time deltas (cpu.stat throttled time) */
	__u64 nr_throttled;     /* cfs_bandwidth.nr_throttled deltas (cpu.stat nr_throttled) */
};

/*
 * One slot of the cgroup cache (cgroup_cache): where a context switch finds
 * its group's stats without hashing. Each CPU has MBCAS_CACHE_SLOTS of them
 * (key = cpu * slots + slot: only that CPU writes them); the slot is picked
 * by the address of the group's struct task_group and valid while
 * generation equals the programs' cache_generation (bumped by user space
 * when it watches or forgets cgroups, and by the programs at cgroup mkdir
 * and rmdir, so a freed group's address reused by another is checked
 * again). A group whose slot holds another counts in cgroup_stats instead.
 *
 * 128 bytes, and the map's values are page-aligned (BPF_F_MMAPABLE), so a
 * slot starts a cache line, and the fields a common switch touches (the
 * first 64 bytes) are one line; the cgroup id is read only to push.
 *
 * A cgroup's totals are its cgroup_stats entry plus the stats of every
 * slot, on every CPU, with its cgroup_id and counted set. Only cgroups
 * with a cgroup_stats entry are reported.
 */
struct mbcas_cgroup_slot {
	__u64 group;          /* the struct task_group's address; 0 = empty */
	__u32 generation;     /* cache_generation when last checked */
	__u32 counted;        /* 1: the cgroup is counted (watched, or no filter) */
	struct mbcas_cgroup_stats stats;
	__u64 cgroup_id;      /* its cgroup's id (0: an autogroup) */
	__u64 _reserved[5];   /* to 128 bytes: two cache lines */
};

/*
 * The kernel's bandwidth counters of one group as last claimed, keyed by
 * cgroup id, shared by all CPUs (compare-and-swap). Created at the counters
 * of the moment the probe first sees a task of the group leave a CPU (or
 * the group throttled), so history is never claimed. An episode's
 * end claims what throttled_time grew by since: each nanosecond the kernel
 * adds is claimed by exactly one end, on whichever CPU comes first. Any
 * switch-out of a task of the group that sees the counters changed claims
 * too: the kernel also throttles run queues no switch-out shows (throttled
 * as a task is enqueued), and counts periods in which it dequeued no task.
 * nr_throttled is claimed the same way.
 * Pinned, so a restarted agent continues where the last one stopped.
 */
struct mbcas_throttle_mark {
	__u64 throttled_time;
	__u64 nr_throttled;
};

/* A throttle episode still open on one CPU run queue, keyed by the throttled cfs_rq's address. */
struct mbcas_open_episode {
	__u64 start_ns;
	__u64 cgroup_id;
};

/* Probe health counters, one value per CPU. */
struct mbcas_counters {
	__u64 events_pushed;    /* ring-buffer records submitted */
	__u64 ringbuf_drops;    /* ring-buffer reserve failures (consumer too slow) */
	__u64 map_full;         /* stats, task or episode map full: an update was lost */
	__u64 _reserved;
};

/*
 * Written by the agent from user space (the probes never touch them), so
 * that `mbcas top` and `bpftool map dump pinned /sys/fs/bpf/mbcas/...` see
 * what the agent decided next to what the kernel counted.
 */
#define MBCAS_NAME_LEN 32
#define MBCAS_REASON_LEN 16

/* One managed pod's allocation, keyed by the pod cgroup's id. */
struct mbcas_pod_allocation {
	__u64 limit_millicores;
	__u64 floor_millicores;
	__u64 cap_millicores;
	__u64 updated_ns;       /* CLOCK_MONOTONIC of the last change */
	__u64 last_latency_ns;  /* kernel stall -> cgroup write, of the last pushed decision */
	char reason[MBCAS_REASON_LEN];  /* why the limit last changed */
	char name[MBCAS_NAME_LEN];      /* the pod's name */
	/* Weights actuation (all 0 / empty under limits actuation): */
	__u64 weight_shares;            /* CFS weight in force, cpu.shares units */
	__u64 share_millicores;         /* the pod's share of the budget under full contention */
	__u64 burst_us;                 /* CFS burst set with the limit, µs (0: none or unsupported) */
	__u32 class_score_e3;           /* class learner's latency score x 1000 */
	__u32 direction_changes;        /* moves that reversed the previous one, last minute */
	char latency_class[MBCAS_REASON_LEN]; /* "latency" / "batch"; "latency*" when declared */
};

/* The node's market, one entry. */
struct mbcas_node_market {
	__u64 capacity_millicores;
	__u64 reserve_millicores;
	__u64 allocated_millicores;     /* sum of the pods' limits */
	__u64 shadow_price_e9;          /* shadow price of CPU x 1e9 (bid per millicore); 0 = not scarce */
	__u64 rounds;                   /* market rounds run */
	__u64 decisions;                /* limit changes applied */
	__u64 updated_ns;               /* CLOCK_MONOTONIC of the last round */
	__u64 agent_pid;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct mbcas_pod_allocation) == 136, "mbcas_pod_allocation layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_node_market) == 64, "mbcas_node_market layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_event) == 48, "mbcas_event layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_cgroup_stats) == 64, "mbcas_cgroup_stats layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_cgroup_slot) == 128, "mbcas_cgroup_slot layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_throttle_mark) == 16, "mbcas_throttle_mark layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_open_episode) == 16, "mbcas_open_episode layout changed: update Swift");
_Static_assert(sizeof(struct mbcas_counters) == 32, "mbcas_counters layout changed: update Swift");
#endif

#endif /* MBCAS_H */
