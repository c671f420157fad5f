import Foundation
import ProcessControl
import TestSupport
import Testing

/// Runs scripts/check-deploy (with the venv's python, which has kubernetes-validate, jsonschema,
/// PyYAML and hadolint) and builds broken copies of the rendered manifests, so that every check
/// is seen to pass on deploy/ and to fail on a mutation it must catch.
enum DeployCheck {
    static let repository = ProjectPaths.repository
    static let python = ProjectPaths.venvPython
    static let script = repository.appendingPathComponent("scripts/check-deploy").path
    static let kubectl = "/usr/bin/kubectl"

    static var installed: Bool {
        FileManager.default.isExecutableFile(atPath: python) && FileManager.default.isExecutableFile(atPath: kubectl)
    }

    /// Runs when the tools are there, or when CI demands it (then a missing venv fails).
    static var canRun: Bool { installed || Privileged.isRequired }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "MBCAS_REQUIRE_PRIVILEGED_TESTS=1 but \(python) or \(kubectl) is missing: run make deps"
        }
    }

    /// `check-deploy <arguments>`; throws ``Missing`` when the venv or kubectl is absent.
    static func run(_ arguments: [String]) throws -> CommandResult {
        guard installed else { throw Missing() }
        let result = try runCommand(python, [script] + arguments, timeout: 120)
        #expect(!result.timedOut, "check-deploy \(arguments) did not finish in 120 s")
        return result
    }

    /// `kubectl kustomize` of deploy/ (or an overlay under it).
    static func render(_ directory: String = "deploy") throws -> String {
        guard installed else { throw Missing() }
        let result = try runCommand(kubectl, ["kustomize", repository.appendingPathComponent(directory).path])
        #expect(result.status == 0, "kubectl kustomize \(directory) failed:\n\(result.stderr)")
        return result.stdout
    }

    /// Writes `text` to a fresh temporary file and returns its path.
    static func temporaryFile(_ text: String, name: String = "manifests.yaml") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mbcas-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}

/// One edit of one object in the rendered YAML stream: in the object of `kind` named `name`,
/// the first `old` becomes `new`. Text, not a parsed tree, so the edit is exactly what a person
/// could write by mistake; `apply` fails the test if the text is not there (no vacuous pass).
struct Mutation: Sendable, CustomTestStringConvertible {
    var description: String
    var kind: String
    var name: String
    var old: String
    var new: String
    /// What the checker must say about it.
    var expected: String

    var testDescription: String { description }

    func apply(to rendered: String) throws -> String {
        struct NotFound: Error, CustomStringConvertible { var description: String }
        var documents = rendered.components(separatedBy: "\n---\n").map { $0 + "\n" }
        guard let index = documents.firstIndex(where: { document in
            let lines = document.split(separator: "\n")
            return lines.contains("kind: \(kind)") && lines.contains("  name: \(name)") && document.contains(old)
        }) else {
            throw NotFound(description: "no \(kind) \(name) containing \(old.debugDescription) in the rendered manifests")
        }
        let range = documents[index].range(of: old)!
        documents[index].replaceSubrange(range, with: new)
        return documents.map { String($0.dropLast()) }.joined(separator: "\n---\n")
    }
}
