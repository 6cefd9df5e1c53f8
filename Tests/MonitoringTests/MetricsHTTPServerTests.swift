import Foundation
import LoopbackSupport
import Monitoring
import Testing
#if canImport(Glibc)
import Glibc
#endif

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
