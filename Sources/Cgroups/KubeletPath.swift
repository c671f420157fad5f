import QoS

/// Parses (and builds) the cgroup paths the kubelet gives pods and their containers.
///
/// Layouts recognised, for both cgroup drivers and the three QoS classes:
///
///     systemd   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
///               /kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope                    (Guaranteed)
///               /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/docker-<id>.scope
///     cgroupfs  /kubepods/burstable/pod<uid>/<id>
///               /kubepods/pod<uid>/<id>                                                     (Guaranteed)
///               /kubepods/besteffort/pod<uid>/crio-<id>
///
/// systemd encodes a slice's ancestry in its name with `-`, so the UID's dashes become `_`; a kubelet
/// with a custom cgroup root nests the same names under it (kind: `/kubelet.slice/kubelet-kubepods.slice/
/// kubelet-kubepods-burstable.slice/...`). Any prefix is allowed (a mount point such as
/// `/sys/fs/cgroup/cpu,cpuacct`, or a node-in-a-container cgroup such as `/docker/<id>`); the first
/// kubepods component is used, because with nested kubelets the outermost pod is the one whose limits
/// apply. Components below the container (cgroups the container made itself) are accepted and
/// attributed to that container.
///
/// Decisions:
/// - `crio-conmon-<id>` (CRI-O's monitor process, in its own cgroup beside the container's) is
///   rejected with `.runtimeMonitor`: it is neither the container's workload nor the pod cgroup, and
///   reporting it as either would let a caller attribute conmon's stalls to the workload, or write a
///   pod limit to it.
/// - The sandbox ("pause") container cannot be told from a workload container by its path (both are
///   `cri-containerd-<id>.scope`); it parses as a container and the caller must consult the runtime.
/// - Static pods whose manifest has no UID get the kubelet's 32-hex-digit hash as UID; accepted.
public enum KubeletPath {
    /// Parses `path`; never traps on any input.
    ///
    /// - Throws: `KubeletPathError` whose code says why the path is not a pod or container cgroup.
    public static func parse(_ path: String) throws(KubeletPathError) -> PodCgroupIdentity {
        let components = path.split(separator: "/").map(String.init)
        func prefix(through index: Int) -> String {
            (path.hasPrefix("/") ? "/" : "") + components[0...index].joined(separator: "/")
        }
        func fail(_ code: KubeletPathError.Code, _ component: String?, _ why: String) -> KubeletPathError {
            KubeletPathError(
                code: code, path: path, component: component,
                message: "\(path): \(component.map { "component \"\($0)\": " } ?? "")\(why)")
        }

        guard let root = components.firstIndex(where: { isSystemdRoot($0) || $0 == "kubepods" }) else {
            throw fail(.notKubepods, nil, "no kubepods or kubepods.slice component")
        }
        let driver: CgroupDriver = components[root] == "kubepods" ? .cgroupfs : .systemd
        var next = root + 1
        guard next < components.count else {
            throw fail(.notPodCgroup, components[root], "the kubepods root, not a pod cgroup")
        }

        // QoS level: a QoS word, or the pod itself for Guaranteed.
        let qos: QoSClass
        let podComponent: String
        let base = driver == .systemd ? String(components[root].dropLast(".slice".count)) : ""
        let levelName = try qosLevelName(components[next], driver: driver, base: base, fail: fail)
        switch levelName {
        case "burstable", "besteffort":
            qos = levelName == "burstable" ? .burstable : .bestEffort
            next += 1
            guard next < components.count else {
                throw fail(.notPodCgroup, components[next - 1], "a QoS-class cgroup, not a pod cgroup")
            }
            podComponent = components[next]
        case let name where name.hasPrefix("pod"):
            qos = .guaranteed
            podComponent = components[next]
        default:
            throw fail(.unknownQoSClass, components[next], "expected burstable, besteffort or pod<uid>")
        }

        let uid = try podUID(podComponent, driver: driver, base: base, qos: qos, fail: fail)
        let podPath = prefix(through: next)
        next += 1
        guard next < components.count else {
            return PodCgroupIdentity(podUID: uid, qos: qos, driver: driver, podCgroupPath: podPath)
        }
        let (containerID, runtime) = try container(components[next], driver: driver, fail: fail)
        return PodCgroupIdentity(
            podUID: uid, qos: qos, containerID: containerID, runtime: runtime, driver: driver,
            podCgroupPath: podPath, containerCgroupPath: prefix(through: next))
    }

    /// Parses `path`, returning the reason instead of throwing.
    public static func parseResult(_ path: String) -> Result<PodCgroupIdentity, KubeletPathError> {
        do { return .success(try parse(path)) } catch { return .failure(error) }
    }

    /// Builds the path (relative to the hierarchy root, default cgroup root) the kubelet would use,
    /// for creating kubelet-like cgroups in tests and demos.
    ///
    /// - Parameters:
    ///   - podUID: API form (with dashes); systemd names get `_` instead.
    ///   - containerID: nil for the pod-level cgroup.
    ///   - runtime: picks the container prefix (cgroupfs: `crio-` for CRI-O, a bare id otherwise).
    public static func format(
        podUID: String, qos: QoSClass, driver: CgroupDriver,
        containerID: String? = nil, runtime: ContainerRuntime = .containerd
    ) -> String {
        var parts: [String]
        switch driver {
        case .systemd:
            let escaped = podUID.replacing("-", with: "_")
            parts = ["kubepods.slice"]
            if let word = qosWord(qos) {
                parts += ["kubepods-\(word).slice", "kubepods-\(word)-pod\(escaped).slice"]
            } else {
                parts += ["kubepods-pod\(escaped).slice"]
            }
            if let containerID {
                let scopePrefix = switch runtime {
                case .containerd: "cri-containerd"
                case .crio: "crio"
                case .docker: "docker"
                }
                parts.append("\(scopePrefix)-\(containerID).scope")
            }
        case .cgroupfs:
            parts = ["kubepods"] + (qosWord(qos).map { [$0] } ?? []) + ["pod\(podUID)"]
            if let containerID { parts.append(runtime == .crio ? "crio-\(containerID)" : containerID) }
        }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: - Pieces

    private typealias Fail = (KubeletPathError.Code, String?, String) -> KubeletPathError

    /// `kubepods.slice`, or `<parent>-kubepods.slice` under a custom systemd cgroup root.
    private static func isSystemdRoot(_ component: String) -> Bool {
        component == "kubepods.slice" || (component.hasSuffix("-kubepods.slice") && !component.hasPrefix("-"))
    }

    private static func qosWord(_ qos: QoSClass) -> String? {
        switch qos {
        case .guaranteed: nil
        case .burstable: "burstable"
        case .bestEffort: "besteffort"
        }
    }

    /// The QoS level's name with the systemd decoration removed: `burstable`, `besteffort`,
    /// `pod<uid>`, or whatever else is there (rejected by the caller).
    private static func qosLevelName(
        _ component: String, driver: CgroupDriver, base: String, fail: Fail
    ) throws(KubeletPathError) -> String {
        guard driver == .systemd else { return component }
        guard component.hasSuffix(".slice"), component.hasPrefix(base + "-") else {
            throw fail(.unexpectedComponent, component, "expected \(base)-<qos>.slice or \(base)-pod<uid>.slice")
        }
        return String(component.dropFirst(base.count + 1).dropLast(".slice".count))
    }

    private static func podUID(
        _ component: String, driver: CgroupDriver, base: String, qos: QoSClass, fail: Fail
    ) throws(KubeletPathError) -> String {
        let uid: String
        switch driver {
        case .systemd:
            let expected = base + "-" + (qosWord(qos).map { $0 + "-" } ?? "") + "pod"
            guard component.hasPrefix(expected), component.hasSuffix(".slice"),
                component.count >= expected.count + ".slice".count
            else {
                if component.hasPrefix(expected) || component.hasSuffix(".slice") {
                    throw fail(.unexpectedComponent, component, "expected \(expected)<uid>.slice")
                }
                throw fail(.unexpectedComponent, component, "expected a pod slice \(expected)<uid>.slice")
            }
            let escaped = component.dropFirst(expected.count).dropLast(".slice".count)
            // In a slice name '-' means nesting, so a UID with '-' cannot be a pod slice's.
            guard !escaped.contains("-") else {
                throw fail(.invalidPodUID, component, "systemd pod slices spell the UID with '_', found '-'")
            }
            uid = String(escaped.replacing("_", with: "-"))
        case .cgroupfs:
            guard component.hasPrefix("pod") else {
                throw fail(.unexpectedComponent, component, "expected pod<uid>")
            }
            uid = String(component.dropFirst("pod".count))
        }
        guard isValidPodUID(uid) else {
            throw fail(.invalidPodUID, component, "pod UID \"\(uid)\" is not lowercase 8-4-4-4-12 hex (or a static pod's 32 hex digits)")
        }
        return uid
    }

    private static func container(
        _ component: String, driver: CgroupDriver, fail: Fail
    ) throws(KubeletPathError) -> (String, ContainerRuntime?) {
        let name: Substring
        switch driver {
        case .systemd:
            guard component.hasSuffix(".scope") else {
                throw fail(.unexpectedComponent, component, "expected a container scope <runtime>-<id>.scope")
            }
            name = component.dropLast(".scope".count)
        case .cgroupfs:
            guard !component.hasSuffix(".scope"), !component.hasSuffix(".slice") else {
                throw fail(.unexpectedComponent, component, "a systemd unit under a cgroupfs pod")
            }
            name = Substring(component)
        }
        let id: Substring
        let runtime: ContainerRuntime?
        if name.hasPrefix("crio-conmon-") {
            throw fail(.runtimeMonitor, component, "CRI-O's conmon monitor cgroup, not a container workload")
        } else if name.hasPrefix("cri-containerd-"), driver == .systemd {
            (id, runtime) = (name.dropFirst("cri-containerd-".count), .containerd)
        } else if name.hasPrefix("crio-") {
            (id, runtime) = (name.dropFirst("crio-".count), .crio)
        } else if name.hasPrefix("docker-"), driver == .systemd {
            (id, runtime) = (name.dropFirst("docker-".count), .docker)
        } else if driver == .systemd {
            throw fail(.unexpectedComponent, component, "unknown container scope (expected cri-containerd-, crio- or docker-<id>.scope)")
        } else {
            (id, runtime) = (name, nil)
        }
        guard id.utf8.count == 64, id.utf8.allSatisfy(isLowerHex) else {
            throw fail(.invalidContainerID, component, "container id \"\(id)\" is not 64 lowercase hex digits")
        }
        return (String(id), runtime)
    }

    /// RFC 4122 text form in lowercase, or 32 lowercase hex digits (a static pod's kubelet-made UID).
    static func isValidPodUID(_ uid: String) -> Bool {
        let bytes = Array(uid.utf8)
        if bytes.count == 32 { return bytes.allSatisfy(isLowerHex) }
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else if !isLowerHex(byte) {
                return false
            }
        }
        return true
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
