/// Where the programs keep per-task state. Task-local storage (found without hashing, freed with
/// the task) only for tp_btf on kernels where `bpf_mem_alloc` backs it (6.4+): before, creating an
/// entry inside `sched_switch` may wake kswapd under the run-queue lock. Elsewhere a preallocated
/// hash keyed by pid, and the task-local storage map is not created at all.
public enum PerTaskState: String, Sendable, CustomStringConvertible {
    case taskLocalStorage = "task-local storage"
    case pidHash = "pid hash"

    public var description: String { rawValue }
}
