/// The id of the cgroup at `path`, as BPF programs see it.
///
/// BPF reads `cgroup->kn->id` (e.g. `bpf_get_current_cgroup_id()` on v2, or
/// `task->sched_task_group->css.cgroup->kn->id` on a v1 `cpu` hierarchy). kernfs exposes that same
/// id as the inode number of the cgroup's directory on 64-bit kernels, so `stat(2)` is enough: no
/// BPF helper or `name_to_handle_at` is needed. Symlinks in `path` are followed.
///
/// - Throws: `CgroupError` with `.systemCall` (e.g. `ENOENT` when the cgroup is gone).
public func cgroupID(of path: String) throws(CgroupError) -> UInt64 {
    try FileIO.inode(path)
}
