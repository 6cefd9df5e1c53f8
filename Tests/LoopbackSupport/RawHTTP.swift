import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Blocking loopback HTTP for the tests: raw sockets, so nothing here is
/// more forgiving than a real scraper.
public enum RawHTTP {
    /// A connected blocking TCP socket to 127.0.0.1:`port`, with send and
    /// receive timeouts of `timeoutSeconds` (none with nil: a connection
    /// that only sits in the server's backlog or holds one of its descriptors).
    public static func connect(port: Int, timeoutSeconds: Int? = 10) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        if let timeoutSeconds {
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
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
    public static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Everything until the peer closes (or the receive timeout).
    public static func readAll(_ fd: Int32) -> String {
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
    public static func request(port: Int, _ text: String) -> String {
        guard let fd = connect(port: port) else { return "" }
        defer { close(fd) }
        send(fd, Array(text.utf8))
        return readAll(fd)
    }

    public static func get(port: Int, _ path: String) -> String {
        request(port: port, "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
    }

    /// The status line's code.
    public static func status(_ response: String) -> Int? {
        let line = response.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = line.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }

    /// The body after the blank line.
    public static func body(_ response: String) -> String {
        guard let range = response.range(of: "\r\n\r\n") else { return "" }
        return String(response[range.upperBound...])
    }

    /// (status code, body) of `GET path`; (0, "") when nothing answers.
    public static func fetch(port: Int, _ path: String) -> (status: Int, body: String) {
        let response = get(port: port, path)
        return (status(response) ?? 0, body(response))
    }

    /// The value of one Prometheus sample (`name{labels}` exactly as exposed); 0 when absent.
    public static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }
}
