import Foundation
import Monitoring
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Blocking loopback HTTP for the tests: raw sockets, so nothing here is
/// more forgiving than a real scraper.
enum RawHTTP {
    /// A connected blocking TCP socket to 127.0.0.1:`port`, with 10 s send and receive timeouts.
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends `bytes` (as much as the peer takes before it closes).
    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Everything until the peer closes (or the receive timeout).
    static func readAll(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// One request; the whole response.
    static func request(port: Int, _ text: String) -> String {
        guard let fd = connect(port: port) else { return "" }
        defer { close(fd) }
        send(fd, Array(text.utf8))
        return readAll(fd)
    }

    static func get(port: Int, _ path: String) -> String {
        request(port: port, "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
    }

    /// The status line's code.
    static func status(_ response: String) -> Int? {
        let line = response.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = line.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }

    /// The body after the blank line.
    static func body(_ response: String) -> String {
        guard let range = response.range(of: "\r\n\r\n") else { return "" }
        return String(response[range.upperBound...])
    }
}

@Suite(.serialized) struct MetricsHTTPServerTests {
    static func start(_ limits: MetricsHTTPServer.Limits = .init(), body: String = "metric_a 1\n") throws -> MetricsHTTPServer {
        let server = try MetricsHTTPServer(listen: "127.0.0.1:0", limits: limits, body: { Array(body.utf8) })
        try server.start()
        return server
    }

    @Test("GET /metrics is 200 with the exposition content type and body; HEAD has no body")
    func metrics() throws {
        let server = try Self.start(body: "adrnorm_test_total 7\n")
        defer { server.stop() }
        let response = RawHTTP.get(port: server.port, "/metrics")
        #expect(RawHTTP.status(response) == 200)
        #expect(response.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(response.contains("Content-Length: 21\r\n"))
        #expect(RawHTTP.body(response) == "adrnorm_test_total 7\n")
        let head = RawHTTP.request(port: server.port, "HEAD /metrics HTTP/1.1\r\n\r\n")
        #expect(RawHTTP.status(head) == 200 && RawHTTP.body(head).isEmpty)
    }

    @Test("Other paths are 404, other methods 405, a request line that is not HTTP 400")
    func otherRequests() throws {
        let server = try Self.start()
        defer { server.stop() }
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/")) == 404)
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/metrics/x")) == 404)
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/favicon.ico")) == 404)
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/metrics?name[]=x")) == 200)
        let post = RawHTTP.request(port: server.port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(RawHTTP.status(post) == 405 && post.contains("Allow: GET, HEAD\r\n"))
        #expect(RawHTTP.status(RawHTTP.request(port: server.port, "hello there\r\n\r\n")) == 400)
    }

    @Test("A 1 MiB request line gets 431 after the head limit, and the endpoint keeps serving")
    func hugeRequestLine() throws {
        let server = try Self.start(.init(maxRequestHeadBytes: 8 << 10))
        defer { server.stop() }
        let fd = try #require(RawHTTP.connect(port: server.port))
        defer { close(fd) }
        let sender = Thread { RawHTTP.send(fd, Array(("GET /" + String(repeating: "a", count: 1 << 20)).utf8)) }
        sender.start()
        let response = RawHTTP.readAll(fd)
        #expect(RawHTTP.status(response) == 431, "\(response.prefix(200))")
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/metrics")) == 200)
    }

    @Test("Idle connections past the cap close the oldest; a connection silent past the timeout is closed")
    func idleConnections() throws {
        let server = try Self.start(.init(maxConnections: 4, timeout: .milliseconds(500)))
        defer { server.stop() }
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<50 { idle.append(try #require(RawHTTP.connect(port: server.port))) }
        // Accepts run on the endpoint's queue: wait until it has seen them all.
        let deadline = Date().addingTimeInterval(5)
        while server.connectionCount < 4 && Date() < deadline { usleep(10_000) }
        #expect(server.connectionCount <= 4)
        // A scraper arriving now is served: it evicts the oldest idle one.
        #expect(RawHTTP.status(RawHTTP.get(port: server.port, "/metrics")) == 200)
        // The oldest were closed by the server: reading gives end of stream at once.
        var byte: UInt8 = 0
        #expect(recv(idle[0], &byte, 1, 0) == 0)
        // The last ones are closed by the timeout.
        let started = Date()
        #expect(recv(idle[49], &byte, 1, 0) == 0)
        #expect(Date().timeIntervalSince(started) < 5)
        while server.connectionCount > 0 && Date() < deadline.addingTimeInterval(5) { usleep(10_000) }
        #expect(server.connectionCount == 0)
    }
}
