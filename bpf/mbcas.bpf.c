// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * MBCAS stall probes: per-cgroup CFS throttling and run-queue wait, counted
 * in a cumulative per-CPU map and pushed to user space as they happen.
 *
 *   sched_wakeup(_new)  task becomes runnable          -> remember when
 *   sched_switch prev   runnable prev switched out     -> wait starts, or a
 *                       throttle episode starts (push, wake user space)
 *   sched_switch next   next switched in               -> wait ends (push when
 *                       over threshold), throttle episode ends (push)
 *   sched_process_exit  task gone                      -> forget it
 *
 * Stats are keyed by the id of the cgroup holding the task's cpu
 * controller (the kernfs id, which is the cgroup directory's inode number),
 * on cgroup v1 and v2 alike.
 */
#include "vmlinux_min.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mbcas.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MBCAS_EEXIST 17 /* errno.h is not available to BPF programs */

/* Tunables, set by user space between open and load. */
const volatile __u64 wait_threshold_ns = 5 * 1000 * 1000;   /* push a wait event past this... */
const volatile __u64 wait_window_ns = 100 * 1000 * 1000;    /* ...much wait within this window */
const volatile __u8 filter_cgroups = 0;                     /* 1: only cgroups in watched_cgroups */

/* Per-task scheduling state, only for tasks that are waiting or throttled. */
struct task_state {
	__u64 runnable_since_ns; /* woken or preempted, not yet running; 0 = not waiting */
	__u64 throttled_since_ns;/* switched out throttled; 0 = not throttled */
	__u64 throttled_cfs_rq;  /* the run queue it was throttled on (episode key) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct mbcas_cgroup_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS); /* one per (cgroup, CPU) at most; sized as the cgroups */
	__type(key, __u64);
	__type(value, struct mbcas_open_episode);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} open_episodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mbcas_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/* The agent's decisions, written from user space for `mbcas top` and bpftool. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct mbcas_pod_allocation);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_allocations SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mbcas_node_market);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_market SEC(".maps");

/*
 * Cgroups to watch when filter_cgroups is set (value unused). Pinned so
 * bpftool shows what the agent watches. User space removes the ids of
 * cgroups that went away, and with them their cgroup_stats entries.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} watched_cgroups SEC(".maps");

/*
 * Per-task state lives in task-local storage for the tp_btf programs (freed
 * with the task, no lookup by key) and in a pid-keyed hash for the raw_tp
 * programs, which cannot pass the kernel a typed task pointer; those clean
 * up in sched_process_exit. User space disables the map the set does not use.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} task_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct task_state);
} task_states SEC(".maps");

/* The CPU's running task and when it was switched in (run-time accounting). */
struct cpu_state {
	__u64 oncpu_since_ns;
	__u32 pid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_states SEC(".maps");

/* Size set by user space (bpf_map__set_max_entries); this is the default. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline struct mbcas_counters *this_cpu_counters(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count_map_full(void)
{
	struct mbcas_counters *c = this_cpu_counters();
	if (c)
		c->map_full++;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	/* NULL css.cgroup (a root autogroup) reads as 0. */
	return BPF_CORE_READ(t, sched_task_group, css.cgroup, kn, id);
}

static __always_inline bool cgroup_watched(__u64 cgroup_id)
{
	return !filter_cgroups || bpf_map_lookup_elem(&watched_cgroups, &cgroup_id);
}

static __always_inline struct mbcas_cgroup_stats *cgroup_stats_of(__u64 cgroup_id)
{
	struct mbcas_cgroup_stats *s = bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
	if (s)
		return s;
	struct mbcas_cgroup_stats zero = {};
	/* EEXIST (another CPU created it first) or E2BIG (full): the lookup decides. */
	bpf_map_update_elem(&cgroup_stats, &cgroup_id, &zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
	if (!s)
		count_map_full();
	return s;
}

static __always_inline struct task_state *task_state_by_pid(__u32 pid, bool create)
{
	struct task_state *ts = bpf_map_lookup_elem(&task_states, &pid);
	if (ts || !create)
		return ts;
	struct task_state zero = {};
	bpf_map_update_elem(&task_states, &pid, &zero, BPF_NOEXIST);
	ts = bpf_map_lookup_elem(&task_states, &pid);
	if (!ts)
		count_map_full();
	return ts;
}

/*
 * Push one record. Throttle starts wake the consumer at once; everything
 * else is batched (no wake-up: a wake-up costs over a microsecond inside
 * the probe), and is read at the consumer's next wake-up or poll timeout.
 */
static __always_inline void push(__u16 kind, __u32 pid, __u64 cgroup_id, __u64 now,
				 __u64 stall_start_ns, __u64 delta_ns, __u64 flags)
{
	struct mbcas_counters *c = this_cpu_counters();
	struct mbcas_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (c)
			c->ringbuf_drops++;
		return;
	}
	e->kind = kind;
	e->size = sizeof(*e);
	e->cpu = bpf_get_smp_processor_id();
	e->ktime_ns = now;
	e->stall_start_ns = stall_start_ns;
	e->cgroup_id = cgroup_id;
	e->delta_ns = delta_ns;
	e->pid = pid;
	e->_pad = 0;
	bpf_ringbuf_submit(e, flags);
	if (c)
		c->events_pushed++;
}

/* A throttled task left the CPU: open the run queue's episode if it is the first. */
static __always_inline void throttle_started(struct task_state *ts, __u64 cfs_rq, __u32 pid,
					     __u64 cgroup_id, __u64 now)
{
	ts->throttled_since_ns = now;
	ts->throttled_cfs_rq = cfs_rq;
	ts->runnable_since_ns = 0;

	struct mbcas_open_episode episode = { .start_ns = now, .cgroup_id = cgroup_id };
	/* BPF_NOEXIST: siblings throttled on the same run queue join the open episode. */
	long err = bpf_map_update_elem(&open_episodes, &cfs_rq, &episode, BPF_NOEXIST);
	if (err == -MBCAS_EEXIST)
		return;
	if (err) {
		count_map_full();
		return;
	}
	struct mbcas_cgroup_stats *s = cgroup_stats_of(cgroup_id);
	if (s)
		s->nr_throttled++;
	push(MBCAS_EVENT_THROTTLE_START, pid, cgroup_id, now, now, 0, BPF_RB_FORCE_WAKEUP);
}

/* A task that was throttled runs again: close its run queue's episode if still open. */
static __always_inline void throttle_ended(struct task_state *ts, __u32 pid, __u64 now)
{
	__u64 cfs_rq = ts->throttled_cfs_rq;
	__u64 since = ts->throttled_since_ns;
	ts->throttled_since_ns = 0;
	ts->throttled_cfs_rq = 0;

	struct mbcas_open_episode *episode = bpf_map_lookup_elem(&open_episodes, &cfs_rq);
	/* Closed already by a sibling, and maybe a newer episode opened since. */
	if (!episode || episode->start_ns > since)
		return;
	__u64 start = episode->start_ns;
	__u64 cgroup_id = episode->cgroup_id;
	if (bpf_map_delete_elem(&open_episodes, &cfs_rq))
		return; /* another CPU closed it first */
	__u64 duration = now - start;
	struct mbcas_cgroup_stats *s = cgroup_stats_of(cgroup_id);
	if (s)
		s->throttled_ns += duration;
	push(MBCAS_EVENT_THROTTLE_END, pid, cgroup_id, now, start, duration, BPF_RB_NO_WAKEUP);
}

/* Account run-queue wait, and push once per window when it crosses the threshold. */
static __always_inline void wait_ended(struct mbcas_cgroup_stats *s, __u32 pid, __u64 cgroup_id,
				       __u64 now, __u64 wait)
{
	s->wait_ns += wait;
	if (now - s->window_start_ns > wait_window_ns) {
		s->window_start_ns = now;
		s->window_wait_ns = 0;
	}
	__u64 before = s->window_wait_ns;
	s->window_wait_ns = before + wait;
	if (before < wait_threshold_ns && s->window_wait_ns >= wait_threshold_ns) {
		s->nr_wait_events++;
		push(MBCAS_EVENT_RUNQ_WAIT, pid, cgroup_id, now, s->window_start_ns, s->window_wait_ns,
		     BPF_RB_NO_WAKEUP);
	}
}

/*
 * What the switch handler needs of a task, read once. Two readers fill it:
 * tp_btf programs dereference the kernel's pointers directly (plain loads,
 * cheap), raw_tp programs go through bpf_probe_read (portable to kernels
 * without BTF-typed tracepoints). User space loads one set or the other.
 */
struct task_view {
	struct task_struct *task;
	__u64 cgroup_id;
	__u64 cfs_rq;     /* only when runnable: the run queue it may be throttled on */
	__u32 pid;
	__u8 runnable;    /* switched out still TASK_RUNNING: preempted, yielded or throttled */
	__u8 throttled;   /* switched out because its CFS bandwidth ran out */
};

static __always_inline void view_btf(struct task_struct *t, struct task_view *v, bool switched_out)
{
	v->task = t;
	v->pid = t->pid;
	/* A NULL css.cgroup (root autogroup) reads as 0: the loads are fault-safe. */
	v->cgroup_id = t->sched_task_group->css.cgroup->kn->id;
	if (!switched_out)
		return;
	long state = bpf_core_field_exists(t->__state) ? t->__state : ((struct task_struct___o *)t)->state;
	v->runnable = state == MBCAS_TASK_RUNNING;
	if (!v->runnable)
		return;
	v->cfs_rq = (__u64)t->se.cfs_rq;
	if (bpf_core_field_exists(t->throttle_node))
		v->throttled = t->throttle_node.next != &t->throttle_node;
	else
		v->throttled = t->se.cfs_rq->throttle_count > 0;
}

static __always_inline void view_probe_read(struct task_struct *t, struct task_view *v, bool switched_out)
{
	v->task = t;
	v->pid = BPF_CORE_READ(t, pid);
	v->cgroup_id = task_cgroup_id(t);
	if (!switched_out)
		return;
	long state = task_state(t);
	v->runnable = state == MBCAS_TASK_RUNNING;
	if (!v->runnable)
		return;
	v->cfs_rq = (__u64)BPF_CORE_READ(t, se.cfs_rq);
	v->throttled = task_switched_out_throttled(t, state);
}

/* `btf` is a constant at every call site: the unused branch is compiled out. */
static __always_inline struct task_state *task_state_get(struct task_struct *task, __u32 pid, bool create,
							 const bool btf)
{
	if (btf) {
		struct task_state *ts = bpf_task_storage_get(&task_storage, task, 0,
							     create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
		if (!ts && create)
			count_map_full();
		return ts;
	}
	return task_state_by_pid(pid, create);
}

static __always_inline void switch_out(struct task_view *prev, struct mbcas_cgroup_stats *s,
				       struct cpu_state *cpu, __u64 now, const bool btf)
{
	if (s && cpu && cpu->pid == prev->pid && cpu->oncpu_since_ns)
		s->run_ns += now - cpu->oncpu_since_ns;
	if (!prev->runnable)
		return;
	struct task_state *ts = task_state_get(prev->task, prev->pid, true, btf);
	if (!ts)
		return;
	if (prev->throttled)
		throttle_started(ts, prev->cfs_rq, prev->pid, prev->cgroup_id, now);
	else
		ts->runnable_since_ns = now; /* preempted (or yielded): waits in the run queue from now */
}

static __always_inline void switch_in(struct task_view *next, struct mbcas_cgroup_stats *s,
				      __u64 now, const bool btf)
{
	if (s)
		s->nr_switches++;

	struct task_state *ts = task_state_get(next->task, next->pid, false, btf);
	if (!ts)
		return;
	if (ts->throttled_since_ns)
		throttle_ended(ts, next->pid, now);
	if (ts->runnable_since_ns) {
		__u64 wait = now - ts->runnable_since_ns;
		ts->runnable_since_ns = 0;
		if (s)
			wait_ended(s, next->pid, next->cgroup_id, now, wait);
	}
}

static __always_inline int handle_switch(struct task_view *prev, struct task_view *next, const bool btf)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0;
	struct cpu_state *cpu = bpf_map_lookup_elem(&cpu_states, &zero);

	/*
	 * pid 0 is the idle task: neither its run time nor its "wait" is a
	 * stall. One stats lookup serves both tasks when they share a cgroup.
	 */
	struct mbcas_cgroup_stats *prev_stats = 0, *next_stats = 0;
	bool prev_counted = prev->pid && cgroup_watched(prev->cgroup_id);
	bool next_counted = next->pid && cgroup_watched(next->cgroup_id);
	if (prev_counted) {
		prev_stats = cgroup_stats_of(prev->cgroup_id);
		switch_out(prev, prev_stats, cpu, now, btf);
	}
	if (cpu) {
		cpu->pid = next->pid;
		cpu->oncpu_since_ns = now;
	}
	if (next_counted) {
		next_stats = prev_counted && next->cgroup_id == prev->cgroup_id ? prev_stats
										 : cgroup_stats_of(next->cgroup_id);
		switch_in(next, next_stats, now, btf);
	}
	return 0;
}

static __always_inline int became_runnable(struct task_struct *task, __u32 pid, __u64 cgroup_id,
					   const bool btf)
{
	if (!pid || !cgroup_watched(cgroup_id))
		return 0;
	struct task_state *ts = task_state_get(task, pid, true, btf);
	if (ts)
		ts->runnable_since_ns = bpf_ktime_get_ns();
	return 0;
}

/* BTF-typed tracepoints (preferred): direct loads through trusted pointers. */

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_view p = {}, n = {};
	view_btf(prev, &p, true);
	view_btf(next, &n, false);
	return handle_switch(&p, &n, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_sched_wakeup, struct task_struct *t)
{
	return became_runnable(t, t->pid, t->sched_task_group->css.cgroup->kn->id, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(btf_sched_wakeup_new, struct task_struct *t)
{
	return became_runnable(t, t->pid, t->sched_task_group->css.cgroup->kn->id, true);
}

/* Raw tracepoints (fallback): every read through bpf_probe_read_kernel. */

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_view p = {}, n = {};
	view_probe_read(prev, &p, true);
	view_probe_read(next, &n, false);
	return handle_switch(&p, &n, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_sched_wakeup, struct task_struct *t)
{
	return became_runnable(t, BPF_CORE_READ(t, pid), task_cgroup_id(t), false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_sched_wakeup_new, struct task_struct *t)
{
	return became_runnable(t, BPF_CORE_READ(t, pid), task_cgroup_id(t), false);
}

/* Forget an exiting thread, so task_states never fills with the dead. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_sched_process_exit, struct task_struct *t)
{
	__u32 pid = BPF_CORE_READ(t, pid);
	bpf_map_delete_elem(&task_states, &pid);
	return 0;
}

/*
 * Benchmark baseline (loaded only by `mbcas-bench probe`): an empty
 * program on the same hook, so the fixed cost of running any BPF program
 * there on this machine can be told apart from the probe's own work.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(baseline_sched_switch)
{
	return 0;
}
