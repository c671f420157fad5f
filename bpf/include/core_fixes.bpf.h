/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kernel differences, in one place. Each helper picks the right field at
 * load time with bpf_core_field_exists(), so one object runs on all of them.
 */
#ifndef MBCAS_CORE_FIXES_BPF_H
#define MBCAS_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Kernel 5.14 renamed task_struct::state to __state (commit 2f064a59a11f,
 * "sched: Change task_struct::state") and changed its type.
 */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* TASK_RUNNING is 0 on every kernel: the task is runnable, not sleeping. */
#define MBCAS_TASK_RUNNING 0

/*
 * Was this task just switched out because its CFS bandwidth ran out?
 *
 * Kernel 6.18 ("sched/fair: Switch to task based throttle model"): a
 * throttled task is dequeued on its way back to user space and parked on
 * its cfs_rq's limbo list through task_struct::throttle_node, so a
 * non-empty throttle_node at switch-out is exact.
 *
 * Earlier kernels dequeue the whole group entity; the task is switched out
 * still runnable while its cfs_rq (or an ancestor) has throttle_count > 0.
 */
static __always_inline bool task_switched_out_throttled(struct task_struct *t, long state)
{
	if (bpf_core_field_exists(t->throttle_node)) {
		struct list_head *node = &t->throttle_node;
		return BPF_CORE_READ(t, throttle_node.next) != node;
	}
	return state == MBCAS_TASK_RUNNING && BPF_CORE_READ(t, se.cfs_rq, throttle_count) > 0;
}

#endif /* MBCAS_CORE_FIXES_BPF_H */
