import Foundation

/// Where the repository and its `.venv` (created by `make deps`, with the PyPI checkers) are, for
/// tests that run the project's scripts and Python tools.
public enum ProjectPaths {
    /// The repository's root (this file is Sources/TestSupport/ProjectPaths.swift).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The venv's python.
    public static let venvPython = repository.appendingPathComponent(".venv/bin/python").path
    /// Whether `make deps` has created the venv.
    public static var hasVenv: Bool { FileManager.default.isExecutableFile(atPath: venvPython) }
}
