"""The cpu controller's cgroup files, v1 or v2, behind one interface.

A *budget parent* carries the node budget as its own quota; each pod is a child of it. On v1 the
cpu controller may be mounted apart from cpuacct (as on this project's machines): pods then get a
twin directory in the cpuacct hierarchy so their CPU use can be read (cpuacct.usage). On v2 the
same files are cpu.max, cpu.weight, cpu.max.burst and cpu.stat (usage_usec, throttled_usec).
"""
import os
import signal
import time

PERIOD_US = 100_000  # the CFS period every policy here uses (the kernel's and Kubernetes' default)


class CgroupError(RuntimeError):
    pass


def _mounts():
    """(mount point, fstype, super options) for every cgroup mount, from /proc/self/mountinfo;
    mounts of a hierarchy's root first (a bind mount of a subtree is the second choice)."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[3] != "/", fields[4], tail[0], set(tail[2].split(","))))
    return [entry[1:] for entry in sorted(found, key=lambda entry: entry[0])]


def shares_for_millicores(millicores):
    """Kubernetes' rule: cpu.shares = millicores × 1024 / 1000, at least 2."""
    return max(2, int(millicores * 1024 / 1000))


def weight_for_shares(shares):
    """Kubernetes' (and runc's) v1 → v2 conversion: cpu.weight in [1, 10000]."""
    return 1 + ((max(2, min(262144, shares)) - 2) * 9999) // 262142


class Hierarchy:
    """Where the cpu controller lives: `version` 1 or 2, `cpu_root`, and on v1 `acct_root` (the
    cpuacct mount, possibly the same directory) or None."""

    def __init__(self, version, cpu_root, acct_root):
        self.version, self.cpu_root, self.acct_root = version, cpu_root, acct_root

    @staticmethod
    def discover():
        mounts = _mounts()
        v1_cpu = next((m for m, t, o in mounts if t == "cgroup" and "cpu" in o), None)
        if v1_cpu:
            acct = next((m for m, t, o in mounts if t == "cgroup" and "cpuacct" in o), None)
            return Hierarchy(1, v1_cpu, acct)
        for mount, fstype, _ in mounts:
            if fstype != "cgroup2":
                continue
            try:
                with open(os.path.join(mount, "cgroup.controllers")) as handle:
                    if "cpu" in handle.read().split():
                        return Hierarchy(2, mount, None)
            except OSError:
                continue
        raise CgroupError("no cgroup hierarchy with the cpu controller: neither a v1 'cpu' mount nor a cgroup2 "
                          "mount listing 'cpu' in cgroup.controllers was found in /proc/self/mountinfo")

    def describe(self):
        if self.version == 2:
            return f"cgroup v2 at {self.cpu_root}"
        acct = self.acct_root or "not mounted (usage from /proc/<tid>/schedstat)"
        return f"cgroup v1: cpu at {self.cpu_root}, cpuacct at {acct}"


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


def _read(path):
    with open(path) as handle:
        return handle.read()


class Cgroup:
    """One cgroup (the budget parent or a pod) in the cpu hierarchy, plus its cpuacct twin on v1."""

    def __init__(self, hierarchy, relative):
        self.h = hierarchy
        self.relative = relative
        self.path = os.path.join(hierarchy.cpu_root, relative)
        separate_acct = hierarchy.version == 1 and hierarchy.acct_root and hierarchy.acct_root != hierarchy.cpu_root
        self.acct_path = os.path.join(hierarchy.acct_root, relative) if separate_acct else None
        self._fds = {}

    @property
    def name(self):
        return os.path.basename(self.relative)

    def create(self):
        for path in filter(None, (self.path, self.acct_path)):
            os.makedirs(path, exist_ok=True)
        if self.h.version == 2:
            self._enable_cpu_below(os.path.dirname(self.path))

    def enable_cpu_for_children(self):
        """v2: children get cpu.* files only when the parent delegates the controller."""
        if self.h.version == 2:
            self._enable_cpu_below(self.path)

    def _enable_cpu_below(self, directory):
        control = os.path.join(directory, "cgroup.subtree_control")
        if "cpu" not in _read(control).split():
            try:
                _write(control, "+cpu")
            except OSError as error:
                raise CgroupError(f"cannot enable the cpu controller in {control}: {error} (on v2 a cgroup "
                                  "with processes of its own cannot delegate controllers)") from error

    def procs_files(self):
        """The cgroup.procs files a process must join (cpu, and cpuacct on a separate v1 mount)."""
        return [os.path.join(p, "cgroup.procs") for p in (self.path, self.acct_path) if p]

    # --- limits and weights ------------------------------------------------------------------------
    def set_quota(self, millicores):
        """The CFS quota as millicores of the 100 ms period; None removes the limit."""
        self.set_quota_us(-1 if millicores is None else round(millicores * PERIOD_US / 1000))

    def set_quota_us(self, quota):
        """The CFS quota in microseconds per 100 ms period (at least 1 ms); -1 removes the limit."""
        quota = -1 if quota < 0 else max(1000, int(quota))
        if quota >= 0 and self.burst_us() > quota:  # the kernel refuses a quota below the burst
            self.set_burst_us(quota)
        if self.h.version == 2:
            _write(os.path.join(self.path, "cpu.max"), f"{'max' if quota < 0 else quota} {PERIOD_US}")
        else:
            _write(os.path.join(self.path, "cpu.cfs_period_us"), PERIOD_US)
            _write(os.path.join(self.path, "cpu.cfs_quota_us"), quota)

    def set_weight_millicores(self, millicores):
        """The CFS weight for a pod whose request is `millicores` (Kubernetes' conversion)."""
        shares = shares_for_millicores(millicores)
        if self.h.version == 2:
            _write(os.path.join(self.path, "cpu.weight"), weight_for_shares(shares))
        else:
            _write(os.path.join(self.path, "cpu.shares"), shares)

    def burst_file(self):
        name = "cpu.max.burst" if self.h.version == 2 else "cpu.cfs_burst_us"
        path = os.path.join(self.path, name)
        return path if os.path.exists(path) else None

    def burst_us(self):
        path = self.burst_file()
        return int(_read(path)) if path else 0

    def set_burst_us(self, microseconds):
        path = self.burst_file()
        if path is None:
            raise CgroupError(f"the kernel has no CFS burst ({'cpu.max.burst' if self.h.version == 2 else 'cpu.cfs_burst_us'} "
                              f"is missing in {self.path}; Linux 5.14+ with CONFIG_CFS_BANDWIDTH)")
        _write(path, int(microseconds))

    # --- reading -------------------------------------------------------------------------------------
    def _pread(self, path):
        """Re-reads a cgroup file through a kept descriptor (cheap enough for 150 pods every 100 ms)."""
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, os.O_RDONLY)
        return os.pread(fd, 4096, 0).decode()

    def quota_millicores(self):
        """The current limit in millicores, None when unlimited."""
        if self.h.version == 2:
            quota, period = self._pread(os.path.join(self.path, "cpu.max")).split()
            return None if quota == "max" else int(quota) * 1000 / int(period)
        quota = int(self._pread(os.path.join(self.path, "cpu.cfs_quota_us")))
        period = int(self._pread(os.path.join(self.path, "cpu.cfs_period_us")))
        return None if quota < 0 else quota * 1000 / period

    def weight(self):
        """cpu.shares (v1) or cpu.weight (v2), as written."""
        name = "cpu.weight" if self.h.version == 2 else "cpu.shares"
        return int(self._pread(os.path.join(self.path, name)))

    def stat(self):
        text = self._pread(os.path.join(self.path, "cpu.stat"))
        return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}

    def throttled_ns(self):
        stat = self.stat()
        return stat.get("throttled_time", stat.get("throttled_usec", 0) * 1000)

    def nr_throttled(self):
        return self.stat().get("nr_throttled", 0)

    def usage_ns(self):
        """CPU time used by the cgroup's tasks so far."""
        if self.h.version == 2:
            return self.stat()["usage_usec"] * 1000
        if self.acct_path or self.h.acct_root == self.h.cpu_root:
            return int(self._pread(os.path.join(self.acct_path or self.path, "cpuacct.usage")))
        total = 0  # no cpuacct: the tasks' own counters (time of exited tasks is lost)
        for tid in _read(os.path.join(self.path, "tasks")).split():
            try:
                total += int(_read(f"/proc/{tid}/schedstat").split()[0])
            except OSError:
                pass
        return total

    def pids(self):
        try:
            return [int(p) for p in _read(os.path.join(self.path, "cgroup.procs")).split()]
        except OSError:
            return []

    # --- removal ---------------------------------------------------------------------------------------
    def close(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def remove(self, timeout=5.0):
        """Kills what still runs inside (only processes this benchmark put there) and removes the
        directories. Returns the paths it could not remove."""
        self.close()
        for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, timeout)):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
        left = []
        for path in filter(None, (self.path, self.acct_path)):
            for attempt in range(50):
                try:
                    if os.path.isdir(path):
                        os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                left.append(path)
        return left


class Shield:
    """The whole benchmark inside one cgroup with the highest CPU weight: `<top>/pods` is the budget
    parent, `<top>/runner` holds this process, the load generators and the agent. Under every policy
    alike, processes outside (other users' builds on a shared machine) then take only what the
    benchmark leaves idle, instead of a weight each against the budget parent's one."""

    def __init__(self, hierarchy, top):
        self.h = hierarchy
        self.top = Cgroup(hierarchy, top)
        self.runner = Cgroup(hierarchy, f"{top}/runner")
        self.entered = False

    @property
    def pods_parent(self):
        return f"{self.top.relative}/pods"

    def enter(self):
        self.top.create()
        self.top.enable_cpu_for_children()
        self.top.set_weight_millicores(256_000)  # cpu.shares 262144 (v1) / cpu.weight 10000 (v2): the maximum
        self.runner.create()
        for procs in self.runner.procs_files():
            _write(procs, os.getpid())
        self.entered = True

    def leave(self):
        """Back to the root, then the shield goes (call after every child process stopped)."""
        if self.entered:
            for root in dict.fromkeys(filter(None, (self.h.cpu_root, self.h.acct_root if self.h.version == 1 else None))):
                try:
                    _write(os.path.join(root, "cgroup.procs"), os.getpid())
                except OSError:
                    pass
            self.entered = False
        return remove_tree(self.h, self.top.relative)


def remove_tree(hierarchy, relative):
    """Removes a cgroup and everything below it, deepest first. Returns the paths left behind."""
    left = []
    path = os.path.join(hierarchy.cpu_root, relative)
    if os.path.isdir(path):
        for child in sorted(os.listdir(path)):
            if os.path.isdir(os.path.join(path, child)):
                left += remove_tree(hierarchy, f"{relative}/{child}")
    return left + Cgroup(hierarchy, relative).remove()
