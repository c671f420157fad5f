// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * MBCAS stall probes: per-cgroup CFS throttling, run-queue wait and run
 * time, counted in a cumulative per-CPU map and pushed to user space as
 * they happen. One hook, sched_switch:
 *
 *   prev switched out   run time: its se.sum_exec_runtime growth since it
 *                       was switched in. Switched out throttled: a throttle
 *                       episode starts (push, wake user space)
 *   next switched in    wait: its sched_info.run_delay growth, including the
 *                       wait this switch ends (what sched_info_arrive() adds
 *                       right after the tracepoint). Back from a throttle:
 *                       the episode ends, and claims what the group's
 *                       cfs_bandwidth counters (cpu.stat) grew by (push)
 *
 * The numbers are the kernel's own (sum_exec_runtime, run_delay,
 * throttled_time, nr_throttled), so they agree with
 * /proc/<pid>/schedstat and cpu.stat by construction; the probe only
 * decides when to read them and whose they are.
 *
 * Stats are keyed by the id of the cgroup holding the task's cpu
 * controller (the kernfs id, which is the cgroup directory's inode number),
 * on cgroup v1 and v2 alike; throttling by the id of the group whose quota
 * ran out.
 */
#include "vmlinux_min.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mbcas.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MBCAS_EEXIST 17      /* errno.h is not available to BPF programs */
#define MBCAS_MAX_DEPTH 8    /* cgroup levels searched for the throttled group */

/* Tunables, set by user space between open and load. */
const volatile __u64 wait_threshold_ns = 5 * 1000 * 1000;   /* push a wait event past this... */
const volatile __u64 wait_window_ns = 100 * 1000 * 1000;    /* ...much wait within this window */
const volatile __u8 filter_cgroups = 0;                     /* 1: only cgroups in watched_cgroups */

/* Per-task state, for every task of a counted cgroup that has been switched in. */
struct task_state {
	__u64 run_delay_seen;    /* sched_info.run_delay after its last switch-in */
	__u64 throttled_since_ns;/* switched out throttled; 0 = not throttled */
	__u64 throttled_cfs_rq;  /* the run queue whose quota ran out (episode key) */
	__u32 seen;              /* run_delay_seen is set */
	__u32 _pad;
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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct mbcas_throttle_mark);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} throttle_marks SEC(".maps");

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
 * The cgroups user space watches (value unused), kept by user space only,
 * pinned so bpftool shows them. The programs do not read it: with
 * filter_cgroups a cgroup is counted when it has a cgroup_stats entry,
 * which user space creates and deletes with its watch entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} watched_cgroups SEC(".maps");

/*
 * Per-task state, keyed by pid, cleaned up in sched_process_exit. A
 * preallocated hash on purpose: an entry is created inside sched_switch,
 * with the run queue locked, and task-local storage allocates there on
 * kernels before bpf_mem_alloc backed it (6.1: the allocator may wake
 * kswapd, whose wake-up takes a run queue lock: a guest hung on it).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MBCAS_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct task_state);
} task_states SEC(".maps");

/* The CPU's running task and its se.sum_exec_runtime when it was switched in (run time). */
struct cpu_state {
	__u64 exec_at_switch_in;
	__u32 pid;
	__u32 seen;
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

/*
 * The cgroup's stats, or NULL when it is not counted. With filter_cgroups,
 * a cgroup is counted when it has an entry, which user space creates when
 * it watches the cgroup and deletes when it stops: one lookup per task and
 * switch decides both. Without, entries are created on first sight.
 */
static __always_inline struct mbcas_cgroup_stats *cgroup_stats_of(__u64 cgroup_id)
{
	struct mbcas_cgroup_stats *s = bpf_map_lookup_elem(&cgroup_stats, &cgroup_id);
	if (s || filter_cgroups)
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

/*
 * The run queue whose quota ran out, for a task switched out throttled: its
 * own cfs_rq, or the first ancestor's marked throttled (a pod's limit above
 * a container's cgroup). Rare (once per episode), so read with probe reads
 * in both sets. Falls back to the task's own run queue.
 */
static __always_inline bool cfs_rq_throttled(struct cfs_rq *q)
{
	return BPF_CORE_READ_BITFIELD_PROBED(q, throttled) != 0;
}

static __always_inline struct cfs_rq *throttled_cfs_rq(struct task_struct *t)
{
	struct cfs_rq *own = BPF_CORE_READ(t, se.cfs_rq);
	struct cfs_rq *q = own;
	struct sched_entity *se = BPF_CORE_READ(t, se.parent);
	for (int i = 0; i < MBCAS_MAX_DEPTH; i++) {
		if (!q || cfs_rq_throttled(q))
			break;
		if (!se) {
			q = 0;
			break;
		}
		q = BPF_CORE_READ(se, cfs_rq);
		se = BPF_CORE_READ(se, parent);
	}
	return q && cfs_rq_throttled(q) ? q : own;
}

/* What cpu.stat prints for a group, now. */
static __always_inline void read_bandwidth(struct task_group *tg, struct mbcas_throttle_mark *now)
{
	now->throttled_time = BPF_CORE_READ(tg, cfs_bandwidth.throttled_time);
	now->nr_throttled = (__u32)BPF_CORE_READ(tg, cfs_bandwidth.nr_throttled);
}

/*
 * The group's mark; the first time (since the probe, or the agent across
 * restarts, first saw the group throttled) claims start from the kernel's
 * counters now.
 */
static __always_inline struct mbcas_throttle_mark *throttle_mark_of(struct task_group *tg, __u64 cgroup_id)
{
	struct mbcas_throttle_mark *mark = bpf_map_lookup_elem(&throttle_marks, &cgroup_id);
	if (mark)
		return mark;
	struct mbcas_throttle_mark now;
	read_bandwidth(tg, &now);
	/* EEXIST: another CPU set it first (same counters, earlier); E2BIG: full. */
	bpf_map_update_elem(&throttle_marks, &cgroup_id, &now, BPF_NOEXIST);
	mark = bpf_map_lookup_elem(&throttle_marks, &cgroup_id);
	if (!mark)
		count_map_full();
	return mark;
}

/* Claims a counter's growth past *mark: exactly one CPU gets each increment. */
static __always_inline __u64 claim(__u64 *mark, __u64 value)
{
	for (int i = 0; i < 4; i++) {
		__u64 seen = *(volatile __u64 *)mark;
		if (value <= seen)
			return 0;
		if (__sync_val_compare_and_swap(mark, seen, value) == seen)
			return value - seen;
	}
	return 0; /* lost four races: a later end claims it */
}

/* A throttled task left the CPU: open the run queue's episode if it is the first. */
static __always_inline void throttle_started(struct task_state *ts, struct task_struct *t, __u32 pid)
{
	__u64 now = bpf_ktime_get_ns();
	struct cfs_rq *q = throttled_cfs_rq(t);
	__u64 key = (__u64)q;
	__u64 cgroup_id = BPF_CORE_READ(q, tg, css.cgroup, kn, id);
	if (!q || (filter_cgroups && !bpf_map_lookup_elem(&cgroup_stats, &cgroup_id)))
		return;
	ts->throttled_since_ns = now;
	ts->throttled_cfs_rq = key;

	struct mbcas_open_episode episode = { .start_ns = now, .cgroup_id = cgroup_id };
	/* BPF_NOEXIST: siblings throttled on the same run queue join the open episode. */
	long err = bpf_map_update_elem(&open_episodes, &key, &episode, BPF_NOEXIST);
	if (err == -MBCAS_EEXIST)
		return;
	if (err) {
		count_map_full();
		return;
	}
	throttle_mark_of(BPF_CORE_READ(q, tg), cgroup_id);
	push(MBCAS_EVENT_THROTTLE_START, pid, cgroup_id, now, now, 0, BPF_RB_FORCE_WAKEUP);
}

/*
 * A task that was throttled runs again: close its run queue's episode if
 * still open, and claim what the kernel counted for the group since the
 * last close (this run queue's unthrottle and any other that came first).
 */
static __always_inline void throttle_ended(struct task_state *ts, __u32 pid)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 key = ts->throttled_cfs_rq;
	__u64 since = ts->throttled_since_ns;
	ts->throttled_since_ns = 0;
	ts->throttled_cfs_rq = 0;

	struct mbcas_open_episode *episode = bpf_map_lookup_elem(&open_episodes, &key);
	/* Closed already by a sibling, and maybe a newer episode opened since. */
	if (!episode || episode->start_ns > since)
		return;
	__u64 start = episode->start_ns;
	__u64 cgroup_id = episode->cgroup_id;
	if (bpf_map_delete_elem(&open_episodes, &key))
		return; /* another CPU closed it first */
	struct task_group *tg = BPF_CORE_READ((struct cfs_rq *)key, tg);
	struct mbcas_throttle_mark *mark = throttle_mark_of(tg, cgroup_id);
	if (!mark)
		return;
	struct mbcas_throttle_mark kernel;
	read_bandwidth(tg, &kernel);
	__u64 throttled = claim(&mark->throttled_time, kernel.throttled_time);
	__u64 nr_throttled = claim(&mark->nr_throttled, kernel.nr_throttled);
	struct mbcas_cgroup_stats *s = cgroup_stats_of(cgroup_id);
	if (s) {
		s->throttled_ns += throttled;
		s->nr_throttled += nr_throttled;
	}
	push(MBCAS_EVENT_THROTTLE_END, pid, cgroup_id, now, start, throttled, BPF_RB_NO_WAKEUP);
}

/*
 * Account run-queue wait, and push once per window when it crosses the
 * threshold. The window runs on this CPU's rq clock (read anyway, and free);
 * CLOCK_MONOTONIC is read only to push.
 */
static __always_inline void wait_ended(struct mbcas_cgroup_stats *s, __u32 pid, __u64 cgroup_id,
				       __u64 clock, __u64 wait)
{
	s->wait_ns += wait;
	if (clock - s->window_start_ns > wait_window_ns) {
		s->window_start_ns = clock;
		s->window_wait_ns = 0;
	}
	__u64 before = s->window_wait_ns;
	s->window_wait_ns = before + wait;
	if (before < wait_threshold_ns && s->window_wait_ns >= wait_threshold_ns) {
		__u64 now = bpf_ktime_get_ns();
		push(MBCAS_EVENT_RUNQ_WAIT, pid, cgroup_id, now, now - (clock - s->window_start_ns), s->window_wait_ns,
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
	__u64 sum_exec;   /* se.sum_exec_runtime */
	__u64 run_delay;  /* next only: sched_info.run_delay once this switch-in is counted */
	__u64 clock;      /* next only: this CPU's rq->clock */
	struct task_group *tg; /* its group (sched_task_group), read once */
	__u64 throttled_time; /* prev only: its group's cfs_bandwidth.throttled_time */
	__u32 nr_throttled; /* prev only: its group's cfs_bandwidth.nr_throttled */
	__u32 pid;
	__u8 runnable;    /* prev only: switched out still TASK_RUNNING: preempted, yielded or throttled */
	__u8 throttled;   /* prev only: switched out because its CFS bandwidth ran out */
};

/*
 * sched_info_arrive() runs right after the tracepoint and adds
 * rq_clock() - last_queued to run_delay; rq->clock does not move in
 * between (rq lock held), so this is the value it will hold.
 */
static __always_inline __u64 run_delay_after_arrival(__u64 run_delay, __u64 last_queued, __u64 clock)
{
	return run_delay + (last_queued && clock > last_queued ? clock - last_queued : 0);
}

static __always_inline void view_btf(struct task_struct *t, struct task_view *v, bool switched_out)
{
	v->task = t;
	v->pid = t->pid;
	v->tg = t->sched_task_group;
	/* A NULL css.cgroup (root autogroup) reads as 0: the loads are fault-safe. */
	v->cgroup_id = v->tg->css.cgroup->kn->id;
	v->sum_exec = t->se.sum_exec_runtime;
	if (!switched_out) {
		/* next's run queue is this CPU's (the runqueues per-CPU symbol is not in every kallsyms). */
		v->clock = t->se.cfs_rq->rq->clock;
		v->run_delay = run_delay_after_arrival(t->sched_info.run_delay, t->sched_info.last_queued, v->clock);
		return;
	}
	v->nr_throttled = v->tg->cfs_bandwidth.nr_throttled;
	v->throttled_time = v->tg->cfs_bandwidth.throttled_time; /* same cache line */
	long state = bpf_core_field_exists(t->__state) ? t->__state : ((struct task_struct___o *)t)->state;
	v->runnable = state == MBCAS_TASK_RUNNING;
	if (!v->runnable)
		return;
	if (bpf_core_field_exists(t->throttle_node))
		v->throttled = t->throttle_node.next != &t->throttle_node;
	else
		v->throttled = t->se.cfs_rq->throttle_count > 0;
}

static __always_inline void view_probe_read(struct task_struct *t, struct task_view *v, bool switched_out)
{
	struct task_group *tg = BPF_CORE_READ(t, sched_task_group);
	v->task = t;
	v->tg = tg;
	v->pid = BPF_CORE_READ(t, pid);
	/* A NULL css.cgroup (root autogroup) reads as 0. */
	v->cgroup_id = BPF_CORE_READ(tg, css.cgroup, kn, id);
	v->sum_exec = BPF_CORE_READ(t, se.sum_exec_runtime);
	if (!switched_out) {
		v->clock = BPF_CORE_READ(t, se.cfs_rq, rq, clock);
		v->run_delay = run_delay_after_arrival(BPF_CORE_READ(t, sched_info.run_delay),
						       BPF_CORE_READ(t, sched_info.last_queued), v->clock);
		return;
	}
	v->nr_throttled = BPF_CORE_READ(tg, cfs_bandwidth.nr_throttled);
	v->throttled_time = BPF_CORE_READ(tg, cfs_bandwidth.throttled_time);
	long state = task_state(t);
	v->runnable = state == MBCAS_TASK_RUNNING;
	if (!v->runnable)
		return;
	v->throttled = task_switched_out_throttled(t, state);
}


/*
 * The group's counters changed since a task of it last left this CPU: claim
 * what no episode end has, and push it as an end without a start. It is
 * throttling of a run queue no switch-out showed (throttled as a task was
 * enqueued on it), or periods the kernel counted without dequeuing a task;
 * left to the next episode end, the last of a run would never be claimed.
 * The first call for a group creates its mark: history is not claimed.
 */
static __always_inline void throttling_claimed_at_switch_out(struct task_view *prev, struct mbcas_cgroup_stats *s)
{
	struct mbcas_throttle_mark *mark = throttle_mark_of(prev->tg, prev->cgroup_id);
	if (!mark)
		return;
	__u64 throttled = claim(&mark->throttled_time, prev->throttled_time);
	s->throttled_ns += throttled;
	s->nr_throttled += claim(&mark->nr_throttled, prev->nr_throttled);
	if (throttled)
		push(MBCAS_EVENT_THROTTLE_END, prev->pid, prev->cgroup_id, bpf_ktime_get_ns(), 0, throttled,
		     BPF_RB_NO_WAKEUP);
}

static __always_inline void switch_out(struct task_view *prev, struct mbcas_cgroup_stats *s,
				       struct cpu_state *cpu, const bool btf)
{
	if (s && cpu && cpu->seen && cpu->pid == prev->pid && prev->sum_exec > cpu->exec_at_switch_in)
		s->run_ns += prev->sum_exec - cpu->exec_at_switch_in;
	/* The kernel counted throttling of the group (rare: about twice a period at most), or this
	 * CPU sees the group for the first time: its mark then starts from the counters now, before
	 * a throttle no switch-out shows could grow them unclaimed. */
	__u64 bandwidth = prev->throttled_time + prev->nr_throttled + 1;
	if (s && bandwidth != s->bandwidth_seen) {
		s->bandwidth_seen = bandwidth;
		throttling_claimed_at_switch_out(prev, s);
	}
	if (!prev->throttled)
		return; /* preempted or asleep: sched_info keeps its wait, read at its next switch-in */
	struct task_state *ts = task_state_by_pid(prev->pid, true);
	if (ts)
		throttle_started(ts, prev->task, prev->pid);
}

static __always_inline void switch_in(struct task_view *next, struct mbcas_cgroup_stats *s, const bool btf)
{
	if (s)
		s->nr_switches++;
	struct task_state *ts = task_state_by_pid(next->pid, true);
	if (!ts)
		return;
	/* run_delay grows at each switch-in and when a queued task migrates: the
	 * growth since this task's last switch-in is all the wait it did. The
	 * first time, only the wait this switch ends is known to be ours. */
	__u64 wait = ts->seen && next->run_delay > ts->run_delay_seen ? next->run_delay - ts->run_delay_seen : 0;
	ts->run_delay_seen = next->run_delay;
	ts->seen = 1;
	if (ts->throttled_since_ns) {
		/* Its delay since it was switched out is the throttle (cpu.stat's) and the
		 * wait after the unthrottle: neither is counted as run-queue wait. */
		throttle_ended(ts, next->pid);
		return;
	}
	if (s && wait)
		wait_ended(s, next->pid, next->cgroup_id, next->clock, wait);
}

static __always_inline int handle_switch(struct task_view *prev, struct task_view *next, const bool btf)
{
	__u32 zero = 0;
	struct cpu_state *cpu = bpf_map_lookup_elem(&cpu_states, &zero);

	/*
	 * pid 0 is the idle task: neither its run time nor its "wait" is a
	 * stall. One stats lookup serves both tasks when they share a cgroup.
	 */
	struct mbcas_cgroup_stats *prev_stats = prev->pid ? cgroup_stats_of(prev->cgroup_id) : 0;
	if (prev_stats)
		switch_out(prev, prev_stats, cpu, btf);
	if (cpu) {
		cpu->pid = next->pid;
		cpu->exec_at_switch_in = next->sum_exec;
		cpu->seen = 1;
	}
	struct mbcas_cgroup_stats *next_stats = !next->pid ? 0
		: prev->pid && next->cgroup_id == prev->cgroup_id ? prev_stats : cgroup_stats_of(next->cgroup_id);
	if (next_stats)
		switch_in(next, next_stats, btf);
	return 0;
}

/* BTF-typed tracepoint (preferred): direct loads through trusted pointers. */
SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_view p = {}, n = {};
	view_btf(prev, &p, true);
	view_btf(next, &n, false);
	return handle_switch(&p, &n, true);
}

/* Raw tracepoint (fallback): every read through bpf_probe_read_kernel. */
SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_view p = {}, n = {};
	view_probe_read(prev, &p, true);
	view_probe_read(next, &n, false);
	return handle_switch(&p, &n, false);
}

/* Forget an exiting thread, so task_states never fills with the dead (both sets load it). */
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
