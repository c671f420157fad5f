/// Real file samples used by the unit tests.
enum Fixtures {
    /// /proc/self/mountinfo of this development machine (Debian 12 VM, kernel 6.18): v1 controllers
    /// each on its own mount, plus a cgroup2 tree at /sys/fs/cgroup/unified without the cpu controller.
    static let mountInfoThisMachine = """
        22 27 0:21 / /proc rw,relatime - proc proc rw
        23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
        24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755
        25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
        26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
        27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
        29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
        30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        42 23 0:39 / /sys/fs/bpf rw,relatime - bpf bpf rw
        43 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs tracefs rw
        """

    /// cgroup2 controllers of this machine's /sys/fs/cgroup/unified (no cpu: it is bound to v1).
    static let unifiedControllersThisMachine = "hugetlb\n"

    /// A systemd node with only the unified hierarchy (Ubuntu 22.04 style, as on most Kubernetes nodes).
    static let mountInfoSystemdV2 = """
        22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
        24 28 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=4014836k,nr_inodes=1003709,mode=755,inode64
        25 24 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
        26 28 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=809928k,mode=755,inode64
        28 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,discard,errors=remount-ro
        29 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - securityfs securityfs rw
        30 24 0:25 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw,inode64
        32 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        33 22 0:28 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
        34 22 0:29 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:11 - bpf bpf rw,mode=700
        1127 26 0:4 net:[4026532571] /run/netns/cni-6f1c2b0e-0f55-4d0b-7a3e-2d3c1a9b8e10 rw shared:571 - nsfs nsfs rw
        """

    /// cgroup.controllers at the root of a typical v2 node.
    static let controllersV2Node = "cpuset cpu io memory hugetlb pids rdma misc\n"

    /// A pure cgroup v1 node (CentOS 7 style): cpu and cpuacct co-mounted, listed as `cpuacct,cpu`.
    static let mountInfoV1CPUAcct = """
        17 39 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
        18 39 0:3 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
        24 17 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
        25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
        27 24 0:23 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpuset
        28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct,cpu
        29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
        30 24 0:26 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,blkio
        31 24 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_prio,net_cls
        32 24 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
        39 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/centos-root rw,attr2,inode64,noquota
        """

    /// systemd's hybrid layout (Ubuntu 20.04 style): v1 controllers, `cpu,cpuacct` co-mounted, plus an
    /// empty cgroup2 tree at /sys/fs/cgroup/unified.
    static let mountInfoHybrid = """
        25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
        31 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpuset
        32 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
        33 25 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
        35 25 0:33 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,rdma
        """

    /// Inside a container without a cgroup namespace: the cgroup2 mount's root is the container's own
    /// cgroup, and the host's tree is bind-mounted beside it.
    static let mountInfoContainerBindMounts = """
        611 540 0:27 /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-4d6e1f8a9b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6.scope /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
        612 540 0:27 / /host/sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
        613 540 254:1 /var/lib/kubelet/pods/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/volumes/kubernetes.io\\040config /etc/my\\040config ro,relatime - ext4 /dev/vda1 rw
        """

    /// cpu.stat of this machine's v1 root cgroup (kernel 6.18).
    static let cpuStatV1ThisMachine = """
        nr_periods 0
        nr_throttled 0
        throttled_time 0
        nr_bursts 0
        burst_time 0

        """

    /// v1 cpu.stat of a throttled container with schedstats enabled (`wait_sum`).
    static let cpuStatV1Throttled = """
        nr_periods 8467
        nr_throttled 2391
        throttled_time 389474283411
        nr_bursts 0
        burst_time 0
        wait_sum 12039485112

        """

    /// v2 cpu.stat in the kernel documentation's format (Documentation/admin-guide/cgroup-v2.rst).
    static let cpuStatV2Docs = """
        usage_usec 8234
        user_usec 6004
        system_usec 2229
        nr_periods 0
        nr_throttled 0
        throttled_usec 0
        nr_bursts 0
        burst_usec 0

        """

    /// v2 cpu.stat of a throttled container on a 6.x kernel (with `core_sched.force_idle_usec`).
    static let cpuStatV2Throttled = """
        usage_usec 58711442
        user_usec 51200071
        system_usec 7511371
        core_sched.force_idle_usec 0
        nr_periods 5120
        nr_throttled 1733
        throttled_usec 96640528
        nr_bursts 12
        burst_usec 43120

        """

    /// cpu.stat of this machine's cgroup2 root (kernel 6.18; no cpu controller, so no throttling keys;
    /// `nice_usec` is a newer key).
    static let cpuStatV2RootThisMachine = """
        usage_usec 117805174
        user_usec 79741578
        system_usec 38063595
        nice_usec 0

        """
}
