// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * MBCAS stall probes: per-cgroup CFS throttling, run-queue wait and run
 * time, counted in cumulative per-CPU maps and pushed to user space as
 * they happen. The main hook is sched_switch:
 *
 *   prev switched out   run time: se.sum_exec_runtime - prev_sum_exec_runtime
 *                       (what it ran since it was picked). Switched out
 *                       throttled: a throttle episode starts (push, wake
 *                       user space)
 *   next switched in    wait: rq clock - sched_info.last_queued, what
 *                       sched_info_arrive() adds to run_delay right after the
 *                       tracepoint. Back from a throttle: the episode ends,
 *                       and claims what the group's cfs_bandwidth counters
 *                       (cpu.stat) grew by (push)
 *
 * sched_migrate_task counts the one wait no switch-in shows: a queued
 * task's wait on the CPU it leaves. The numbers are the kernel's own
 * (sum_exec_runtime, run_delay, throttled_time, nr_throttled), so they
 * agree with /proc/<pid>/schedstat and cpu.stat by construction; the probe
 * only decides when to read them and whose they are.
 *
 * Cost, at low switch rates, is cache lines, code included: a common
 * switch touches the two tasks, their group's run queue, one line of
 * shared state (.bss) and one line of a slot of this CPU's (cgroup_cache),
 * found by the group's address; no hash, no cgroup id, no per-task state
 * (while run queues are contended, a switch-in also writes a task note:
 * one line more, see task_notes). Its instructions run straight through;
 * what is rare is called out of line (see likely()).
 *
 * Stats are kept by the id of the cgroup holding the task's cpu controller
 * (the kernfs id, which is the cgroup directory's inode number), on cgroup
 * v1 and v2 alike; throttling by the id of the group whose quota ran out.
 */
#include "vmlinux_min.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mbcas.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * At low switch rates every cache line a switch touches is a miss, code
 * included: the common switch's path is kept short and straight (branch
 * hints), and what is rare is called out of line (__noinline subprograms,
 * one copy per program).
 */
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MBCAS_EEXIST 17      /* errno.h is not available to BPF programs */
#define MBCAS_MAX_DEPTH 8    /* cgroup levels searched for the throttled group */

/*
 * Kernel options the probe can do without, tested at load time (CO-RE), so
 * that a kernel built without them still loads the programs: the code that
 * reads their fields is then dead. User space names what is missing
 * (mbcas_kernel_missing_features).
 *   CONFIG_CFS_BANDWIDTH: quotas, so throttling (cfs_bandwidth, throttle clocks)
 *   CONFIG_SCHED_INFO:    run-queue wait (sched_info.run_delay, last_queued)
 * Per-cgroup accounting itself needs CONFIG_FAIR_GROUP_SCHED (cfs_rq::tg);
 * user space refuses to load without it.
 */
#define HAS_CFS_BANDWIDTH bpf_core_field_exists(((struct task_group *)0)->cfs_bandwidth)
#define HAS_SCHED_INFO bpf_core_field_exists(((struct task_struct *)0)->sched_info)

/* Tunables, set by user space between open and load; constants to the verifier, which drops the code they rule out. */
const volatile __u8 filter_cgroups = 0;                     /* 1: only cgroups in watched_cgroups */
const volatile __u8 task_storage_safe = 0;                  /* 1: tp_btf keeps per-task state in task_storage */

/*
 * Per-task state, only while needed: everything else the probe needs of a
 * task is in the task itself (see switch_out and switch_in). Needed for a
 * task switched out throttled (see throttle_started).
 */
struct task_state {
	__u64 throttled_since_ns;/* switched out throttled; 0 = not throttled */
	__u64 throttled_cfs_rq;  /* the run queue whose quota ran out (episode key) */
};

/*
 * A task's run_delay as of its last switch-in or migration, for the wait
 * before a queued migration, the only run-queue wait no switch-in shows
 * (see handle_migrate). Noted at every switch-in while run queues of
 * counted cgroups are contended, so kept where a note costs one cache
 * line and no helper call: an array indexed by a hash of the task's
 * kernel stack address, not per-task storage. A note another task's
 * overwrote is simply missing (that migration's wait is not counted):
 * `task` and `check` say whose it is, and that it was not torn by two
 * CPUs writing one entry at once.
 */
struct task_note {
	__u64 task;              /* task_note_key() of the task */
	__u64 run_delay_seen;    /* sched_info.run_delay then */
	__u64 arrivals_seen;     /* arrivals_tag() of sched_info.pcount then: run_delay_seen is current while equal */
	__u64 check;             /* task_note_check() of the three */
};

#define MBCAS_TASK_NOTE_BITS 15 /* 32768 notes, 1 MiB: far more than the tasks noted at once (collisions lose a note) */
#define MBCAS_TASK_NOTES (1u << MBCAS_TASK_NOTE_BITS)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* page-aligned values: a note is half a cache line, never two */
	__uint(max_entries, MBCAS_TASK_NOTES);
	__type(key, __u32);
	__type(value, struct task_note);
} task_notes SEC(".maps");

/*
 * What every switch reads, in .bss, one cache line (the section starts a
 * page, and is under 64 bytes): the shared state below, and the tunables
 * the common switch needs, set by user space between open and load (not
 * in .rodata, which would be one more line, and one more page, per switch).
 */
__u32 cache_slot_mask = 0;      /* slots per CPU in cgroup_cache - 1 (a power of two) */
__u64 wait_threshold_ns = 0;    /* push a wait event past this... */
__u64 wait_window_ns = 0;       /* ...much wait within this window */

/*
 * Tasks whose state says throttled, on every CPU (atomic): while 0, a task
 * switched in cannot be coming back from a throttle, and its state is not
 * looked up. Drops when such a task runs again or exits.
 */
__u64 throttled_tasks = 0;

/*
 * Slots are valid while their generation equals this (see struct
 * mbcas_cgroup_slot); set by user space at load.
 */
__u32 cache_generation = 0;

/*
 * The rq clock when run queues of counted cgroups were last seen contended:
 * a task of one waited long, or moved between CPUs while queued. For a
 * while after, switch-ins note run_delay for the wait before a migration
 * (see handle_migrate). Written at most every MBCAS_CONTENTION_REFRESH_NS:
 * every switch reads its cache line.
 */
__u64 contended_clock = 0;

#define MBCAS_CONTENDED_WAIT_NS (1000ull * 1000)                /* a wait this long: contended */
#define MBCAS_CONTENTION_WINDOW_NS (1000ull * 1000 * 1000)      /* switch-ins note run_delay this long after */
#define MBCAS_CONTENTION_REFRESH_NS (10ull * 1000 * 1000)
#define MBCAS_TASK_ON_RQ_MIGRATING 2

static __always_inline void note_contention(__u64 clock)
{
	if (clock > contended_clock + MBCAS_CONTENTION_REFRESH_NS)
		contended_clock = clock;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MBCAS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct mbcas_cgroup_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_stats SEC(".maps");

/*
 * Where a switch finds its group's stats: a slot of this CPU's, picked by
 * the group's address (see struct mbcas_cgroup_slot), so the common switch
 * reads no cgroup id and hashes nothing. An array of CPUs x slots (user
 * space sizes it) rather than a per-CPU array: its lookup is an address
 * computed from constants, with no table of per-CPU pointers to read, and
 * BPF_F_MMAPABLE page-aligns its values, so each slot starts a cache line.
 * Pinned: its counts are part of the totals, and a restarted agent
 * continues them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MBCAS_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct mbcas_cgroup_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_cache SEC(".maps");

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
 * Per-task state. An entry is created inside sched_switch, with the run
 * queue locked. Task-local storage (freed with the task, found without
 * hashing) allocates there: safe where bpf_mem_alloc backs it (kernels
 * whose bpf_local_storage_map has bpf_ma, 6.4+: user space checks the BTF
 * and sets task_storage_safe, tp_btf set only: the helper needs a typed
 * task pointer); before, the allocator may wake kswapd, whose wake-up takes
 * a run queue lock (a 6.1 guest hung on it). Elsewhere, a preallocated
 * hash keyed by pid, cleaned up in sched_process_exit (user space sizes the
 * unused one to a single entry).
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

/* Read only where needed: pid's line is one the scheduler does not touch at a switch. */
static __always_inline __u32 pid_of(struct task_struct *t, const bool btf)
{
	return btf ? t->pid : BPF_CORE_READ(t, pid);
}

#define MBCAS_PF_IDLE 0x00000002 /* include/linux/sched.h: no CO-RE name to relocate by */

/*
 * An idle task (pid 0, or a task injecting idle time): neither its run time
 * nor its "wait" is a stall. Told by task_struct::flags, on the line of
 * __state that the scheduler has just read, rather than by the pid.
 */
static __always_inline bool is_idle(struct task_struct *t, const bool btf)
{
	unsigned int flags = btf ? t->flags : BPF_CORE_READ(t, flags);
	return flags & MBCAS_PF_IDLE;
}

/* The task's state; NULL when it has none. */
static __always_inline struct task_state *task_state_if_any(struct task_struct *t, const bool btf)
{
	if (btf && task_storage_safe)
		return bpf_task_storage_get(&task_storage, t, 0, 0);
	__u32 pid = pid_of(t, btf);
	return bpf_map_lookup_elem(&task_states, &pid);
}

/* The task's state if it says the task is throttled (its delay since is throttling, not wait); else NULL. */
static __always_inline struct task_state *throttled_state(struct task_struct *t, const bool btf)
{
	struct task_state *ts = task_state_if_any(t, btf);
	return ts && ts->throttled_since_ns ? ts : 0;
}

/* The task's state, created if it has none. */
static __always_inline struct task_state *task_state_of(struct task_struct *t, const bool btf)
{
	struct task_state *ts;
	if (btf && task_storage_safe) {
		ts = bpf_task_storage_get(&task_storage, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!ts)
			count_map_full();
		return ts;
	}
	__u32 pid = pid_of(t, btf);
	ts = bpf_map_lookup_elem(&task_states, &pid);
	if (ts)
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
	if (!HAS_CFS_BANDWIDTH) {
		now->throttled_time = now->nr_throttled = 0;
		return;
	}
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
static __always_inline void throttle_started(struct task_state *ts, struct task_struct *t)
{
	__u64 now = bpf_ktime_get_ns();
	struct cfs_rq *q = throttled_cfs_rq(t);
	__u64 key = (__u64)q;
	__u64 cgroup_id = BPF_CORE_READ(q, tg, css.cgroup, kn, id);
	if (!q || (filter_cgroups && !bpf_map_lookup_elem(&cgroup_stats, &cgroup_id)))
		return;
	if (!ts->throttled_since_ns)
		__sync_fetch_and_add(&throttled_tasks, 1);
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
	push(MBCAS_EVENT_THROTTLE_START, BPF_CORE_READ(t, pid), cgroup_id, now, now, 0, BPF_RB_FORCE_WAKEUP);
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
	__sync_fetch_and_sub(&throttled_tasks, 1);

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

/* A cgroup's wait crossed the threshold in its window (began `window_age_ns` ago on the rq clock). */
static __noinline void push_wait(struct task_struct *t, const __u64 *cgroup_id, __u64 window_age_ns,
				 __u64 window_wait_ns, const bool btf)
{
	__u64 now = bpf_ktime_get_ns();
	push(MBCAS_EVENT_RUNQ_WAIT, pid_of(t, btf), *cgroup_id, now, now - window_age_ns, window_wait_ns, BPF_RB_NO_WAKEUP);
}

/*
 * Account run-queue wait, and push once per window when it crosses the
 * threshold. The window runs on this CPU's rq clock (read anyway, and free);
 * CLOCK_MONOTONIC is read only to push.
 */
static __always_inline void wait_ended(struct mbcas_cgroup_stats *s, struct task_struct *t, const __u64 *cgroup_id,
				       __u64 clock, __u64 wait, const bool btf)
{
	s->wait_ns += wait;
	if (unlikely(clock - s->window_start_ns > wait_window_ns)) {
		s->window_start_ns = clock;
		s->window_wait_ns = 0;
	}
	__u64 before = s->window_wait_ns;
	s->window_wait_ns = before + wait;
	if (unlikely(before < wait_threshold_ns && s->window_wait_ns >= wait_threshold_ns))
		push_wait(t, cgroup_id, clock - s->window_start_ns, s->window_wait_ns, btf);
}

/*
 * Reading a task. tp_btf programs dereference the kernel's pointers directly
 * (plain loads, cheap), raw_tp programs go through bpf_probe_read (portable
 * to kernels without BTF-typed tracepoints); `btf` is a constant in each, so
 * each program keeps one kind. Fields are read only when needed: a switch
 * from or to the idle task, or of an uncounted cgroup, reads little, which
 * matters at low switch rates, where every line read is a cache miss.
 */
/*
 * The task's group, through its CFS run queue (set for every class by
 * set_task_rq()): the scheduler has just used that line, while
 * task_struct::sched_task_group's is cold at low switch rates.
 */
static __always_inline struct task_group *group_of(struct task_struct *t, const bool btf)
{
	return btf ? t->se.cfs_rq->tg : BPF_CORE_READ(t, se.cfs_rq, tg);
}

/* The group has a CFS quota (runtime_enabled): only then can it be throttled. */
static __always_inline bool bandwidth_limited(struct task_struct *t, const bool btf)
{
	if (!HAS_CFS_BANDWIDTH)
		return false;
	return btf ? t->se.cfs_rq->runtime_enabled : BPF_CORE_READ(t, se.cfs_rq, runtime_enabled);
}

/* The id of a group's cgroup; a NULL css.cgroup (root autogroup) reads as 0: the loads are fault-safe. */
static __always_inline __u64 group_cgroup_id(struct task_group *tg, const bool btf)
{
	return btf ? tg->css.cgroup->kn->id : BPF_CORE_READ(tg, css.cgroup, kn, id);
}

/* Switched out still TASK_RUNNING (preempted, yielded or throttled) and because its CFS bandwidth ran out. */
static __always_inline bool switched_out_throttled(struct task_struct *t, const bool btf)
{
	if (!HAS_CFS_BANDWIDTH)
		return false;
	if (!btf)
		return task_switched_out_throttled(t, task_state(t));
	long state = bpf_core_field_exists(t->__state) ? t->__state : ((struct task_struct___o *)t)->state;
	if (state != MBCAS_TASK_RUNNING)
		return false;
	if (bpf_core_field_exists(t->throttle_node))
		return t->throttle_node.next != &t->throttle_node;
	return t->se.cfs_rq->throttle_count > 0;
}

static __always_inline __u32 group_nr_throttled(struct task_group *tg, const bool btf)
{
	return btf ? tg->cfs_bandwidth.nr_throttled : BPF_CORE_READ(tg, cfs_bandwidth.nr_throttled);
}

static __always_inline __u64 group_throttled_time(struct task_group *tg, const bool btf)
{
	return btf ? tg->cfs_bandwidth.throttled_time : BPF_CORE_READ(tg, cfs_bandwidth.throttled_time);
}

/*
 * This CPU's rq->clock, through the task's run queue (this CPU's; the
 * runqueues per-CPU symbol is not in every kallsyms): the clock sched_info
 * is kept in, updated at the start of __schedule() and still (rq lock held).
 */
static __always_inline __u64 clock_of(struct task_struct *t, const bool btf)
{
	return btf ? t->se.cfs_rq->rq->clock : BPF_CORE_READ(t, se.cfs_rq, rq, clock);
}

/*
 * What the task ran in the stint this switch ends: the fair class sets
 * se.prev_sum_exec_runtime to se.sum_exec_runtime when it picks the task
 * (set_next_entity), so no per-CPU record of the switch-in is needed.
 * Other classes (RT, deadline) leave it behind: bounded by the stint's
 * length on the rq clock (sched_info.last_arrival is its start), which is
 * then what is counted.
 */
static __always_inline __u64 stint_run_ns(struct task_struct *t, __u64 clock, const bool btf)
{
	__u64 sum = btf ? t->se.sum_exec_runtime : BPF_CORE_READ(t, se.sum_exec_runtime);
	__u64 prev_sum = btf ? t->se.prev_sum_exec_runtime : BPF_CORE_READ(t, se.prev_sum_exec_runtime);
	__u64 ran = sum > prev_sum ? sum - prev_sum : 0;
	if (!HAS_SCHED_INFO)
		return ran;
	__u64 arrival = btf ? t->sched_info.last_arrival : BPF_CORE_READ(t, sched_info.last_arrival);
	__u64 stint = clock > arrival ? clock - arrival : 0;
	return ran < stint ? ran : stint;
}

/*
 * The run-queue wait this switch-in ends: sched_info_arrive() runs right
 * after the tracepoint and adds rq_clock() - last_queued to run_delay (the
 * clock does not move in between).
 */
static __always_inline __u64 wait_ending(struct task_struct *t, __u64 clock, const bool btf)
{
	if (!HAS_SCHED_INFO)
		return 0; /* no sched_info: wait is not counted (user space says so at load) */
	__u64 last_queued = btf ? t->sched_info.last_queued : BPF_CORE_READ(t, sched_info.last_queued);
	return last_queued && clock > last_queued ? clock - last_queued : 0;
}

/*
 * The group's counters changed since a task of it last left this CPU: claim
 * what no episode end has, and push it as an end without a start. It is
 * throttling of a run queue no switch-out showed (throttled as a task was
 * enqueued on it), or periods the kernel counted without dequeuing a task;
 * left to the next episode end, the last of a run would never be claimed.
 * The first call for a group creates its mark: history is not claimed.
 */
static __always_inline void throttling_claimed_at_switch_out(__u32 pid, struct task_group *tg, __u64 cgroup_id,
							     __u64 throttled_time, __u32 nr_throttled,
							     struct mbcas_cgroup_stats *s)
{
	struct mbcas_throttle_mark *mark = throttle_mark_of(tg, cgroup_id);
	if (!mark)
		return;
	__u64 throttled = claim(&mark->throttled_time, throttled_time);
	s->throttled_ns += throttled;
	s->nr_throttled += claim(&mark->nr_throttled, nr_throttled);
	if (throttled)
		push(MBCAS_EVENT_THROTTLE_END, pid, cgroup_id, bpf_ktime_get_ns(), 0, throttled, BPF_RB_NO_WAKEUP);
}

/*
 * The kernel counted throttling of the group since a task of it last left
 * this CPU (rare: about twice a period at most), or this CPU sees the group
 * for the first time: its mark then starts from the counters now, before a
 * throttle no switch-out shows could grow them unclaimed.
 */
static __noinline void bandwidth_changed(struct task_struct *prev, struct task_group *tg, const __u64 *cgroup_id,
					 struct mbcas_cgroup_stats *s, const bool btf)
{
	__u64 throttled_time = group_throttled_time(tg, btf);
	__u32 nr_throttled = group_nr_throttled(tg, btf);
	s->bandwidth_seen = throttled_time + nr_throttled + 1;
	throttling_claimed_at_switch_out(pid_of(prev, btf), tg, *cgroup_id, throttled_time, nr_throttled, s);
}

/* Switched out because its CFS bandwidth ran out. */
static __noinline void switched_out_throttling(struct task_struct *prev, const bool btf)
{
	struct task_state *ts = task_state_of(prev, btf);
	if (ts)
		throttle_started(ts, prev);
}

static __always_inline void switch_out(struct task_struct *prev, struct task_group *tg, const __u64 *cgroup_id,
				       struct mbcas_cgroup_stats *s, const bool btf)
{
	s->run_ns += stint_run_ns(prev, clock_of(prev, btf), btf);
	if (bandwidth_limited(prev, btf) &&
	    unlikely(group_throttled_time(tg, btf) + group_nr_throttled(tg, btf) + 1 != s->bandwidth_seen))
		bandwidth_changed(prev, tg, cgroup_id, s, btf);
	/* Not throttled: preempted or asleep, and sched_info keeps its wait, read at its next switch-in. */
	if (unlikely(switched_out_throttled(prev, btf)))
		switched_out_throttling(prev, btf);
}

/*
 * A task coming back from a throttle: its episode ends. Its delay since it
 * was switched out is the throttle (cpu.stat's) and the wait after the
 * unthrottle: neither is run-queue wait. Looked up only while some task is
 * throttled, whatever the task's cgroup is now (it may have moved).
 */
static __noinline bool throttle_ends(struct task_struct *next, const bool btf)
{
	struct task_state *ts = throttled_state(next, btf);
	if (!ts)
		return false;
	throttle_ended(ts, pid_of(next, btf));
	return true;
}

static __always_inline bool back_from_throttle(struct task_struct *next, const bool btf)
{
	return unlikely(throttled_tasks) && throttle_ends(next, btf);
}

static __always_inline __u64 run_delay_of(struct task_struct *t, const bool btf)
{
	return btf ? t->sched_info.run_delay : BPF_CORE_READ(t, sched_info.run_delay);
}

static __always_inline __u64 arrivals_of(struct task_struct *t, const bool btf)
{
	return btf ? t->sched_info.pcount : BPF_CORE_READ(t, sched_info.pcount);
}

/* What task_note::arrivals_seen holds for a count of arrivals: never 0, so an empty note is not current. */
static __always_inline __u64 arrivals_tag(__u64 arrivals)
{
	return arrivals + 1;
}

static __always_inline __u64 task_note_check(__u64 key, __u64 run_delay, __u64 arrivals)
{
	return key ^ run_delay ^ (arrivals << 1) ^ 0x6d626361734e6f74ull;
}

/* The low half of an address, as a plain number: an explicit 32-bit move (a partial copy; the
 * verifier refuses arithmetic on a pointer, which clang would otherwise do in place). */
#define LOW_HALF(pointer) ({ __u32 __low; asm volatile("%0 = %1" : "=w"(__low) : "w"((__u32)(__u64)(pointer))); __low; })

/*
 * Who a note is for: the low halves of the task's address and of its kernel
 * stack's (on the line of __state, which the scheduler has just read), so
 * that a task_struct or a stack freed and reused by a new task does not
 * make its note the dead one's. Two live tasks alike in both are not met.
 */
static __always_inline __u64 task_note_key(struct task_struct *t, const bool btf)
{
	__u32 stack = btf ? LOW_HALF(t->stack) : (__u32)(__u64)BPF_CORE_READ(t, stack);
	return (__u64)stack << 32 | LOW_HALF(t);
}

/* The entry of the note with this key (anyone's, or empty: see task_note_is). */
static __always_inline struct task_note *task_note_entry(__u64 key)
{
	/* Fibonacci hashing of the stack's address (THREAD_SIZE-aligned: its low bits are zero). */
	__u32 index = ((__u32)(key >> (32 + 14)) * 2654435761u) >> (32 - MBCAS_TASK_NOTE_BITS);
	return bpf_map_lookup_elem(&task_notes, &index);
}

static __always_inline bool task_note_is(const struct task_note *n, __u64 key)
{
	return n->task == key && n->check == task_note_check(key, n->run_delay_seen, n->arrivals_seen);
}

static __always_inline void task_note_write(struct task_note *n, __u64 key, __u64 run_delay, __u64 arrivals)
{
	n->task = key;
	n->run_delay_seen = run_delay;
	n->arrivals_seen = arrivals;
	n->check = task_note_check(key, run_delay, arrivals);
}

/*
 * A switch-in after a long wait, or while run queues are contended: returns
 * whether its wait counts.
 */
static __noinline bool contended_switch_in(struct task_struct *next, __u64 clock, __u64 wait, bool throttle_ended,
					   const bool btf)
{
	__u64 key = task_note_key(next, btf);
	struct task_note *note = task_note_entry(key);
	if (!note)
		return true; /* cannot happen: the index is within the array */
	bool unseen_long_wait = false;
	if (wait >= MBCAS_CONTENDED_WAIT_NS) {
		note_contention(clock);
		/* A long wait of a task the probe has neither noted nor kept state for may hide a
		 * throttle whose start it did not see (the task was throttled before the probe attached,
		 * or before its cgroup was watched): not counted, as the probe's first sight of a task.
		 * The note below (run queues are contended now) makes the next one count. */
		unseen_long_wait = !throttle_ended && !task_note_is(note, key) && !task_state_if_any(next, btf);
	}
	/* Contended: the load balancer may move this task while it queues. Note where run_delay
	 * will be after this switch-in: sched_info_arrive adds the wait and counts the arrival. */
	if (HAS_SCHED_INFO)
		task_note_write(note, key, run_delay_of(next, btf) + wait, arrivals_tag(arrivals_of(next, btf) + 1));
	return !unseen_long_wait;
}

static __always_inline void switch_in(struct task_struct *next, const __u64 *cgroup_id,
				      struct mbcas_cgroup_stats *s, bool throttle_ended, const bool btf)
{
	s->nr_switches++;
	__u64 clock = clock_of(next, btf);
	__u64 wait = wait_ending(next, clock, btf);
	bool counts = wait && !throttle_ended;
	if (unlikely(wait >= MBCAS_CONTENDED_WAIT_NS || (HAS_SCHED_INFO && clock < contended_clock + MBCAS_CONTENTION_WINDOW_NS)))
		counts = contended_switch_in(next, clock, wait, throttle_ended, btf) && counts;
	if (counts)
		wait_ended(s, next, cgroup_id, clock, wait, btf);
}

/* Bits of css.flags (include/linux/cgroup-defs.h, an unnamed enum: no CO-RE name to relocate by). */
#define MBCAS_CSS_ONLINE (1 << 1)
#define MBCAS_CSS_DYING (1 << 4)

/*
 * Whether a group may hold a slot: an online cgroup's, or an autogroup's
 * (no cgroup; whose address a new cgroup reuses only after a mkdir, which
 * invalidates). Not a dying cgroup's: its group may be freed, and its
 * address taken by an autogroup, with no mkdir or rmdir between.
 */
static __always_inline bool group_cacheable(struct task_group *tg, const bool btf)
{
	struct cgroup *cgroup = btf ? tg->css.cgroup : BPF_CORE_READ(tg, css.cgroup);
	if (!cgroup)
		return true;
	unsigned int flags = btf ? tg->css.flags : BPF_CORE_READ(tg, css.flags);
	return (flags & MBCAS_CSS_ONLINE) && !(flags & MBCAS_CSS_DYING);
}

/*
 * The slot a group's address picks: task_groups are slab objects, so the
 * lowest bits say little. The address is cut to 32 bits first (a 32-bit
 * move: the verifier refuses shifts of a pointer, not a partial copy).
 */
static __always_inline __u32 cache_slot(__u64 group)
{
	__u32 low = (__u32)group;
	return ((low >> 6) ^ (low >> 14) ^ (low >> 22)) & cache_slot_mask;
}

/*
 * The stats a switch of a task of this group counts into, and its cgroup
 * id; NULL when the cgroup is not counted. The common case is one per-CPU
 * slot, valid for this group; otherwise the cgroup id is read and the slot
 * checked again, claimed, or left to the group holding it (the stats then
 * go to cgroup_stats). A counted cgroup's slot is never taken while it has
 * a cgroup_stats entry: its counts there are part of its totals.
 */
static __noinline struct mbcas_cgroup_stats *stats_of_uncached_group(struct task_group *tg,
								      struct mbcas_cgroup_slot *e, __u64 *cgroup_id,
								      const bool btf)
{
	__u64 group = (__u64)tg;
	__u32 generation = cache_generation;
	__u64 id = group_cgroup_id(tg, btf);
	*cgroup_id = id;
	struct mbcas_cgroup_stats *s = cgroup_stats_of(id);
	if (!e || !group_cacheable(tg, btf))
		return s;
	if (e->group == group && e->cgroup_id == id) {
		/* Ours, checked again: counted or not since the watch list changed. */
		e->generation = generation;
		e->counted = s ? 1 : 0;
		return s ? &e->stats : 0;
	}
	/* Empty, another group's, or a freed group's whose address this one reuses (then dead: taken). */
	if (e->group && e->group != group && e->counted &&
	    (e->generation == generation || bpf_map_lookup_elem(&cgroup_stats, &e->cgroup_id)))
		return s;
	struct mbcas_cgroup_slot fresh = { .group = group, .cgroup_id = id, .generation = generation,
					   .counted = s ? 1 : 0 };
	*e = fresh;
	return s ? &e->stats : 0;
}

static __always_inline struct mbcas_cgroup_stats *stats_of_group(struct task_group *tg, const __u64 **cgroup_id,
								  const bool btf)
{
	__u64 group = (__u64)tg;
	__u32 slot = bpf_get_smp_processor_id() * (cache_slot_mask + 1) + cache_slot(group); /* this CPU's */
	struct mbcas_cgroup_slot *e = bpf_map_lookup_elem(&cgroup_cache, &slot);
	if (likely(e && e->group == group && e->generation == cache_generation)) {
		*cgroup_id = &e->cgroup_id;
		return e->counted ? &e->stats : 0;
	}
	return stats_of_uncached_group(tg, e, (__u64 *)*cgroup_id, btf);
}

static __always_inline int handle_switch(struct task_struct *prev, struct task_struct *next, const bool btf)
{
	/*
	 * One stats lookup serves both tasks when they share a group. A group's
	 * cgroup id is read only to push: where it is (its slot, or the id read
	 * on a cache miss into these) is passed on.
	 */
	struct task_group *prev_tg = 0;
	struct mbcas_cgroup_stats *prev_stats = 0;
	__u64 prev_id_read = 0, next_id_read = 0;
	const __u64 *prev_id = &prev_id_read;
	if (!is_idle(prev, btf)) {
		prev_tg = group_of(prev, btf);
		prev_stats = stats_of_group(prev_tg, &prev_id, btf);
		if (prev_stats)
			switch_out(prev, prev_tg, prev_id, prev_stats, btf);
	}
	if (is_idle(next, btf))
		return 0;
	bool throttle_ended = back_from_throttle(next, btf);
	struct task_group *next_tg = group_of(next, btf);
	const __u64 *next_id = prev_id;
	struct mbcas_cgroup_stats *next_stats = prev_stats;
	if (next_tg != prev_tg) {
		next_id = &next_id_read;
		next_stats = stats_of_group(next_tg, &next_id, btf);
	}
	if (next_stats)
		switch_in(next, next_id, next_stats, throttle_ended, btf);
	return 0;
}

/* BTF-typed tracepoint (preferred): direct loads through trusted pointers. */
SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next, true);
}

/* Raw tracepoint (fallback): every read through bpf_probe_read_kernel. */
SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev, next, false);
}

/*
 * A thread exits: forget it, so task_states never fills with the dead (both
 * sets load it), and so throttled_tasks does not count it for ever.
 */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_sched_process_exit, struct task_struct *t)
{
	__u32 pid = BPF_CORE_READ(t, pid);
	struct task_state *ts = bpf_map_lookup_elem(&task_states, &pid);
	if (!ts)
		return 0;
	bool throttled = ts->throttled_since_ns != 0;
	if (!bpf_map_delete_elem(&task_states, &pid) && throttled)
		__sync_fetch_and_sub(&throttled_tasks, 1);
	return 0;
}

/* The same for task-local storage (freed with the task): tp_btf only, it needs a typed task pointer. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_sched_process_exit, struct task_struct *t)
{
	if (!task_storage_safe)
		return 0;
	struct task_state *ts = bpf_task_storage_get(&task_storage, t, 0, 0);
	if (ts && ts->throttled_since_ns) {
		ts->throttled_since_ns = 0;
		__sync_fetch_and_sub(&throttled_tasks, 1);
	}
	return 0;
}

/* Whether the task is throttled, looked up only while some task is. */
static __always_inline bool throttled_now(struct task_struct *t, const bool btf)
{
	return throttled_tasks && throttled_state(t, btf);
}

/*
 * A task moves to another CPU. If it was queued (not woken onto the new
 * CPU), sched_info_dequeue() has just added its wait on the old CPU to
 * run_delay and cleared last_queued: the next switch-in will not see that
 * wait. It is counted here, as run_delay's growth since the task's last
 * switch-in or migration, when the note made then is current (task_notes).
 * Switch-ins note it only while run queues are contended (contended_clock),
 * so that switches on a lightly loaded node write nothing per task; a
 * migration as contention begins may then not be counted.
 */
static __always_inline int handle_migrate(struct task_struct *p, const bool btf)
{
	int on_rq = btf ? p->on_rq : BPF_CORE_READ(p, on_rq);
	if (on_rq != MBCAS_TASK_ON_RQ_MIGRATING || !HAS_SCHED_INFO)
		return 0;
	__u64 id = 0;
	const __u64 *cgroup_id = &id;
	struct mbcas_cgroup_stats *s = stats_of_group(group_of(p, btf), &cgroup_id, btf);
	if (!s)
		return 0;
	__u64 clock = clock_of(p, btf); /* the old CPU's: the task is still on its run queue */
	note_contention(clock);
	__u64 key = task_note_key(p, btf);
	struct task_note *note = task_note_entry(key);
	if (!note)
		return 0;
	__u64 run_delay = run_delay_of(p, btf);
	__u64 arrivals = arrivals_tag(arrivals_of(p, btf));
	if (task_note_is(note, key) && note->arrivals_seen == arrivals && run_delay > note->run_delay_seen &&
	    !throttled_now(p, btf))
		wait_ended(s, p, cgroup_id, clock, run_delay - note->run_delay_seen, btf);
	task_note_write(note, key, run_delay, arrivals);
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(btf_sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	return handle_migrate(p, true);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(raw_sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	return handle_migrate(p, false);
}

/*
 * A cgroup made or removed: slots are checked again before use, so that a
 * group's address freed and reused by another group never counts for the
 * first (both sets load it).
 */
SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(raw_cgroup_mkdir)
{
	__sync_fetch_and_add(&cache_generation, 1);
	return 0;
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(raw_cgroup_rmdir)
{
	__sync_fetch_and_add(&cache_generation, 1);
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
