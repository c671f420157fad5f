/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types the probes read, hand-kept instead of a generated
 * vmlinux.h (which is ~130k lines). preserve_access_index makes every field
 * access a CO-RE relocation: libbpf matches the field by name against the
 * running kernel's BTF at load time, so offsets and layouts here do not need
 * to match any kernel. Only list fields that are read.
 */
#ifndef MBCAS_VMLINUX_MIN_H
#define MBCAS_VMLINUX_MIN_H

#include <linux/types.h>

typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
typedef int pid_t;
typedef _Bool bool;
#define true 1
#define false 0

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

struct kernfs_node {
	u64 id; /* inode number of the cgroup directory (kernel >= 5.5) */
};

struct cgroup {
	struct kernfs_node *kn;
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
	unsigned int flags; /* CSS_ONLINE, CSS_DYING, ... */
};

/* The group's CFS bandwidth: what cpu.stat prints (nr_throttled, throttled_time). */
struct cfs_bandwidth {
	int nr_throttled;
	u64 throttled_time; /* ns, summed over the group's run queues at each unthrottle */
};

struct task_group {
	struct cgroup_subsys_state css;
	struct cfs_bandwidth cfs_bandwidth;
};

struct rq;

struct cfs_rq {
	struct rq *rq;      /* the CPU's run queue */
	int throttle_count; /* > 0 when this run queue or an ancestor is throttled */
	int throttled;      /* this run queue ran out of quota (a 1-bit bitfield since 6.18: read it with BPF_CORE_READ_BITFIELD_PROBED) */
	struct task_group *tg;
	int runtime_enabled; /* the group has a quota (CONFIG_CFS_BANDWIDTH) */
};

struct sched_entity {
	u64 sum_exec_runtime;        /* /proc/<pid>/schedstat, first field */
	u64 prev_sum_exec_runtime;   /* sum_exec_runtime when the fair class last picked it */
	struct sched_entity *parent; /* the group entity one level up; NULL at the root */
	struct cfs_rq *cfs_rq;       /* the run queue this entity is queued on */
};

/* CONFIG_SCHED_INFO (Debian and most distributions have it). */
struct sched_info {
	unsigned long pcount;           /* times switched in (sched_info_arrive) */
	unsigned long long run_delay;   /* /proc/<pid>/schedstat, second field */
	unsigned long long last_arrival;/* rq clock when last switched in */
	unsigned long long last_queued; /* rq clock when queued, 0 while running */
};

struct rq {
	u64 clock; /* rq_clock(): the clock sched_info is kept in */
};

struct task_struct {
	unsigned int __state;
	void *stack;                    /* its kernel stack: unique among live tasks */
	unsigned int flags;             /* PF_IDLE: an idle task */
	int on_rq;                      /* TASK_ON_RQ_MIGRATING (2) while moved between CPUs queued */
	pid_t pid;
	struct sched_entity se;
	struct sched_info sched_info;
	struct task_group *sched_task_group;
	struct list_head throttle_node; /* kernel >= 6.18: task-based throttling */
};

#pragma clang attribute pop

#endif /* MBCAS_VMLINUX_MIN_H */
