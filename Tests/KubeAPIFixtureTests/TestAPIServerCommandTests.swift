import Foundation
import KubeAPIFixture
import TestSupport
import Testing

/// `mbcas-test-apiserver` the way a script uses it: wait for "listening on", talk to it, stop it
/// with SIGTERM.
@Suite struct TestAPIServerCommandTests {
    @Test func servesUntilSIGTERMWithTheKubeletStandIn() async throws {
        let executable = try requireBuiltProduct("mbcas-test-apiserver")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "0", "--kubelet-node", "node-a", "--node-allocatable-cpu", "3800m"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Scripts wait for this line: the port is bound once it is printed.
        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output.append(chunk)
        }
        let line = String(decoding: output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("listening on http://127.0.0.1:"), "first line: \(line)")
        let client = TestClient(base: String(line.dropFirst("listening on ".count)))
        #expect(try await client.send("GET", "/version").body["gitVersion"]?.string?.contains("fixture") == true)
        #expect(try await client.send("POST", "/api/v1/namespaces/default/pods", body: pod("web")).code == 201)
        // The kubelet stand-in registers its Node, and starts the pods bound to it.
        #expect(try await client.send("GET", "/api/v1/nodes/node-a").body[path: ["status", "allocatable", "cpu"]] == "3800m")
        #expect(try await eventually {
            try await client.send("GET", "/api/v1/namespaces/default/pods/web").body[path: ["status", "phase"]] == "Running"
        })

        kill(process.processIdentifier, SIGTERM)
        let stopped = await eventually { !process.isRunning }
        #expect(stopped)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
