#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import MetricsEndpoint
import Testing

@Suite("EndpointError")
struct EndpointErrorTests {
    // EACCES cannot be provoked for real here (tests run as root, which may bind any port), so
    // the errno mapping is checked directly; EADDRINUSE is also provoked for real in
    // MetricsEndpointTests.
    @Test("bind errnos map to codes and messages that name the address and the errno text",
          arguments: [
              (EADDRINUSE, EndpointError.Code.addressInUse, "Address already in use"),
              (EACCES, .permissionDenied, "Permission denied"),
              (EPERM, .permissionDenied, "Operation not permitted"),
              (EADDRNOTAVAIL, .invalidAddress, "Cannot assign requested address"),
              (ENOBUFS, .bindFailed, "No buffer space available"),
          ])
    func bindErrno(code: Int32, expected: EndpointError.Code, text: String) {
        let error = EndpointError.bind(address: "127.0.0.1:80", errno: code)
        #expect(error.code == expected)
        #expect(error.errno == code)
        #expect(error.address == "127.0.0.1:80")
        #expect(error.message == "cannot listen on 127.0.0.1:80: \(text) (errno \(code))")
        #expect(error.description == error.message)
    }

    @Test("IPv6 hosts are bracketed so the port stays readable")
    func addressFormatting() {
        #expect(EndpointError.formatAddress(host: "127.0.0.1", port: 9464) == "127.0.0.1:9464")
        #expect(EndpointError.formatAddress(host: "::1", port: 9464) == "[::1]:9464")
    }
}
