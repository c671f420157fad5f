import Foundation
import Market
import QoS
import Testing

@testable import Cgroups

@Suite struct KubeletPathTests {
    static let uid = "8dbb8b3e-6c5a-4a2b-9b1e-2f6d5c4b3a21"
    static let uidSystemd = "8dbb8b3e_6c5a_4a2b_9b1e_2f6d5c4b3a21"
    static let cid = "3f1c6e0f9d5b2a7c8e4d1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
    static let staticPodUID = "b2b6f6e5a3b0c1d9e8f7a6b5c4d3e2f1"

    // MARK: systemd driver

    @Test func systemdBurstableContainerd() throws {
        let path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.uidSystemd).slice/cri-containerd-\(Self.cid).scope"
        let identity = try KubeletPath.parse(path)
        #expect(identity.podUID == Self.uid)
        #expect(identity.qos == .burstable)
        #expect(identity.containerID == Self.cid)
        #expect(identity.runtime == .containerd)
        #expect(identity.driver == .systemd)
        #expect(identity.podCgroupPath == "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.uidSystemd).slice")
        #expect(identity.containerCgroupPath == path)
    }

    @Test func systemdGuaranteedSitsDirectlyUnderKubepods() throws {
        let identity = try KubeletPath.parse("/kubepods.slice/kubepods-pod\(Self.uidSystemd).slice/crio-\(Self.cid).scope")
        #expect(identity.qos == .guaranteed)
        #expect(identity.podUID == Self.uid)
        #expect(identity.runtime == .crio)
        #expect(identity.containerID == Self.cid)
        #expect(identity.podCgroupPath == "/kubepods.slice/kubepods-pod\(Self.uidSystemd).slice")
    }

    @Test func systemdBestEffortDocker() throws {
        let identity = try KubeletPath.parse(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(Self.uidSystemd).slice/docker-\(Self.cid).scope")
        #expect(identity.qos == .bestEffort)
        #expect(identity.runtime == .docker)
        #expect(identity.containerID == Self.cid)
    }

    @Test(arguments: QoSClass.allCases)
    func systemdPodLevelHasNoContainer(qos: QoSClass) throws {
        let path = KubeletPath.format(podUID: Self.uid, qos: qos, driver: .systemd)
        let identity = try KubeletPath.parse(path)
        #expect(identity.qos == qos)
        #expect(identity.containerID == nil)
        #expect(identity.runtime == nil)
        #expect(identity.containerCgroupPath == nil)
        #expect(identity.podCgroupPath == path)
    }

    @Test func kindNestsUnderACustomCgroupRoot() throws {
        let path = "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
            + "kubelet-kubepods-besteffort-pod\(Self.uidSystemd).slice/cri-containerd-\(Self.cid).scope"
        let identity = try KubeletPath.parse(path)
        #expect(identity.qos == .bestEffort)
        #expect(identity.podUID == Self.uid)
        #expect(identity.containerID == Self.cid)
        let guaranteed = try KubeletPath.parse("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod\(Self.uidSystemd).slice")
        #expect(guaranteed.qos == .guaranteed)
    }

    @Test func mountPointPrefixIsAllowed() throws {
        let path = "/sys/fs/cgroup/cpu,cpuacct/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.uidSystemd).slice/cri-containerd-\(Self.cid).scope"
        let identity = try KubeletPath.parse(path)
        #expect(identity.podCgroupPath.hasPrefix("/sys/fs/cgroup/cpu,cpuacct/kubepods.slice/"))
        #expect(identity.containerID == Self.cid)
    }

    @Test func staticPodHashUID() throws {
        let identity = try KubeletPath.parse(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.staticPodUID).slice/cri-containerd-\(Self.cid).scope")
        #expect(identity.podUID == Self.staticPodUID)
    }

    @Test func cgroupsBelowTheContainerBelongToIt() throws {
        let container = "/kubepods.slice/kubepods-pod\(Self.uidSystemd).slice/cri-containerd-\(Self.cid).scope"
        let identity = try KubeletPath.parse(container + "/init.scope")
        #expect(identity.containerID == Self.cid)
        #expect(identity.containerCgroupPath == container)
    }

    // MARK: cgroupfs driver

    @Test func cgroupfsBurstable() throws {
        let identity = try KubeletPath.parse("/kubepods/burstable/pod\(Self.uid)/\(Self.cid)")
        #expect(identity == PodCgroupIdentity(
            podUID: Self.uid, qos: .burstable, containerID: Self.cid, runtime: nil, driver: .cgroupfs,
            podCgroupPath: "/kubepods/burstable/pod\(Self.uid)",
            containerCgroupPath: "/kubepods/burstable/pod\(Self.uid)/\(Self.cid)"))
    }

    @Test func cgroupfsGuaranteedAndBestEffort() throws {
        let guaranteed = try KubeletPath.parse("/kubepods/pod\(Self.uid)/\(Self.cid)")
        #expect(guaranteed.qos == .guaranteed)
        #expect(guaranteed.containerID == Self.cid)
        let bestEffort = try KubeletPath.parse("/kubepods/besteffort/pod\(Self.uid)/crio-\(Self.cid)")
        #expect(bestEffort.qos == .bestEffort)
        #expect(bestEffort.runtime == .crio)
        #expect(bestEffort.driver == .cgroupfs)
    }

    @Test func cgroupfsPodLevelAndRelativePaths() throws {
        let identity = try KubeletPath.parse("kubepods/besteffort/pod\(Self.uid)/")
        #expect(identity.containerID == nil)
        #expect(identity.podCgroupPath == "kubepods/besteffort/pod\(Self.uid)")
    }

    @Test func cgroupfsInsideADockerNode() throws {
        // A kubelet running in a container (k3d, kind with cgroupfs) without a cgroup namespace.
        let node = "/docker/0c7f0e5c0a2bd24a1e9b6b7f4f5d5a0a61d8b1b8a1c04d5f8c7d0b8e2e6f1a3b"
        let identity = try KubeletPath.parse("\(node)/kubepods/burstable/pod\(Self.uid)/\(Self.cid)")
        #expect(identity.podUID == Self.uid)
        #expect(identity.podCgroupPath == "\(node)/kubepods/burstable/pod\(Self.uid)")
    }

    @Test func outermostKubepodsWinsWhenNested() throws {
        let inner = "8dbb8b3e-0000-4a2b-9b1e-2f6d5c4b3a21"
        let path = "/kubepods/burstable/pod\(Self.uid)/\(Self.cid)/kubepods/pod\(inner)/\(Self.cid)"
        let identity = try KubeletPath.parse(path)
        #expect(identity.podUID == Self.uid)
        #expect(identity.qos == .burstable)
    }

    // MARK: round trips

    @Test(arguments: CgroupDriver.allCases, QoSClass.allCases)
    func formatThenParseRoundTrips(driver: CgroupDriver, qos: QoSClass) throws {
        for runtime in ContainerRuntime.allCases {
            let path = KubeletPath.format(podUID: Self.uid, qos: qos, driver: driver, containerID: Self.cid, runtime: runtime)
            let identity = try KubeletPath.parse(path)
            #expect(identity.podUID == Self.uid)
            #expect(identity.qos == qos)
            #expect(identity.driver == driver)
            #expect(identity.containerID == Self.cid)
            // cgroupfs names containerd and Docker containers by bare id: the runtime is unknown.
            let expectedRuntime: ContainerRuntime? = driver == .cgroupfs && runtime != .crio ? nil : runtime
            #expect(identity.runtime == expectedRuntime)
        }
    }

    @Test func resultFormCarriesTheReason() {
        switch KubeletPath.parseResult("/system.slice/containerd.service") {
        case .success(let identity): Issue.record("unexpected success: \(identity)")
        case .failure(let error): #expect(error.code == .notKubepods)
        }
        #expect((try? KubeletPath.parseResult("/kubepods/pod\(Self.uid)").get())?.qos == .guaranteed)
    }

    @Test func throwingInitializer() throws {
        #expect(try PodCgroupIdentity(cgroupPath: "/kubepods/pod\(Self.uid)").podUID == Self.uid)
    }

    // MARK: rejections

    static let rejected: [(String, KubeletPathError.Code)] = [
        ("", .notKubepods),
        ("/", .notKubepods),
        ("/system.slice/kubelet.service", .notKubepods),
        ("/user.slice/user-1000.slice/session-2.scope", .notKubepods),
        ("/kubepodsx/burstable/pod\(uid)", .notKubepods),
        ("/kubepods.slice", .notPodCgroup),
        ("/kubepods", .notPodCgroup),
        ("/kubepods.slice/kubepods-burstable.slice", .notPodCgroup),
        ("/kubepods/besteffort/", .notPodCgroup),
        ("/kubepods/guaranteed/pod\(uid)", .unknownQoSClass),
        ("/kubepods/Burstable/pod\(uid)", .unknownQoSClass),
        ("/kubepods.slice/kubepods-guaranteed.slice/kubepods-guaranteed-pod\(uidSystemd).slice", .unknownQoSClass),
        ("/kubepods.slice/system-burstable.slice", .unexpectedComponent),
        ("/kubepods.slice/kubepods-burstable", .unexpectedComponent),
        // Pod slice whose QoS word disagrees with its parent.
        ("/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod\(uidSystemd).slice", .unexpectedComponent),
        ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd)", .unexpectedComponent),
        ("/kubepods/burstable/\(uid)", .unexpectedComponent),
        // Bad UIDs.
        ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid).slice", .invalidPodUID),
        ("/kubepods.slice/kubepods-pod.slice", .invalidPodUID),
        ("/kubepods/pod\(uid.uppercased())/\(cid)", .invalidPodUID),
        ("/kubepods/burstable/pod\(uidSystemd)", .invalidPodUID),
        ("/kubepods/burstable/pod8dbb8b3e-6c5a-4a2b-9b1e-2f6d5c4b3a2", .invalidPodUID),
        ("/kubepods/burstable/pod8dbb8b3e-6c5a-4a2b-9b1e-2f6d5c4b3a2g", .invalidPodUID),
        ("/kubepods/burstable/pod8dbb8b3e6-c5a-4a2b-9b1e-2f6d5c4b3a21", .invalidPodUID),
        ("/kubepods/burstable/pod", .invalidPodUID),
        ("/kubepods/besteffort/podxyz", .invalidPodUID),
        // Bad container ids.
        ("/kubepods/burstable/pod\(uid)/\(cid.dropLast())", .invalidContainerID),
        ("/kubepods/burstable/pod\(uid)/\(cid)0", .invalidContainerID),
        ("/kubepods/burstable/pod\(uid)/\(cid.uppercased())", .invalidContainerID),
        ("/kubepods/burstable/pod\(uid)/\(cid.dropLast())z", .invalidContainerID),
        ("/kubepods.slice/kubepods-pod\(uidSystemd).slice/cri-containerd-\(cid.prefix(12)).scope", .invalidContainerID),
        ("/kubepods.slice/kubepods-pod\(uidSystemd).slice/docker-.scope", .invalidContainerID),
        // Unknown container components.
        ("/kubepods.slice/kubepods-pod\(uidSystemd).slice/\(cid)", .unexpectedComponent),
        ("/kubepods.slice/kubepods-pod\(uidSystemd).slice/podman-\(cid).scope", .unexpectedComponent),
        ("/kubepods.slice/kubepods-pod\(uidSystemd).slice/extra.slice", .unexpectedComponent),
        ("/kubepods/pod\(uid)/cri-containerd-\(cid).scope", .unexpectedComponent),
        // CRI-O's monitor.
        ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/crio-conmon-\(cid).scope", .runtimeMonitor),
        ("/kubepods/burstable/pod\(uid)/crio-conmon-\(cid)", .runtimeMonitor),
    ]

    @Test(arguments: rejected)
    func rejectsWithAReason(path: String, code: KubeletPathError.Code) {
        switch KubeletPath.parseResult(path) {
        case .success(let identity):
            Issue.record("\(path) parsed as \(identity)")
        case .failure(let error):
            #expect(error.code == code, "\(error)")
            #expect(error.path == path)
            // (An empty path is "contained" only by the standard library's
            // contains, not Foundation's, which these tests may see.)
            #expect(path.isEmpty || error.message.contains(path))
            if let component = error.component {
                #expect(path.contains(component))
                #expect(error.message.contains(component))
            }
        }
    }

    /// Seeded, so a failure can be replayed: MBCAS_FUZZ_SEED=<the seed in the failure> picks it.
    static let fuzzSeed = ProcessInfo.processInfo.environment["MBCAS_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6d62_6361_73
    @Test func mutatedPathsNeverTrap() {
        var generator = SplitMix64(seed: Self.fuzzSeed)
        let alphabet = Array("/-_.abcdefpodkubesliceburstable0123456789")
        var valid: [String] = []
        for driver in CgroupDriver.allCases {
            for qos in QoSClass.allCases {
                valid.append(KubeletPath.format(podUID: Self.uid, qos: qos, driver: driver))
                for runtime in ContainerRuntime.allCases {
                    valid.append(KubeletPath.format(podUID: Self.uid, qos: qos, driver: driver, containerID: Self.cid, runtime: runtime))
                }
            }
        }
        var parsed = 0
        for round in 0..<4000 {
            var characters = Array(valid[round % valid.count])
            // Round 0..<valid.count keeps the originals, so some inputs are certainly valid.
            let edits = round < valid.count ? 0 : Int.random(in: 1...4, using: &generator)
            for _ in 0..<edits where !characters.isEmpty {
                let at = Int.random(in: 0..<characters.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: characters.remove(at: at)
                case 1: characters.insert(alphabet.randomElement(using: &generator)!, at: at)
                default: characters[at] = alphabet.randomElement(using: &generator)!
                }
            }
            let path = String(characters)
            switch KubeletPath.parseResult(path) {
            case .success(let identity):
                parsed += 1
                #expect(KubeletPath.isValidPodUID(identity.podUID))
                // The pod-level prefix must itself parse to the same pod, without a container.
                let pod = try? KubeletPath.parse(identity.podCgroupPath)
                #expect(pod?.podUID == identity.podUID && pod?.qos == identity.qos && pod?.containerID == nil)
            case .failure(let error):
                #expect(error.path == path && !error.message.isEmpty, "seed \(Self.fuzzSeed), round \(round)")
            }
        }
        #expect(parsed >= valid.count, "seed \(Self.fuzzSeed)")
    }

    @Test func uidValidation() {
        #expect(KubeletPath.isValidPodUID(Self.uid))
        #expect(KubeletPath.isValidPodUID(Self.staticPodUID))
        #expect(!KubeletPath.isValidPodUID(Self.uidSystemd))
        #expect(!KubeletPath.isValidPodUID(""))
        #expect(!KubeletPath.isValidPodUID(Self.uid.uppercased()))
        #expect(!KubeletPath.isValidPodUID(Self.staticPodUID + "0"))
    }
}
