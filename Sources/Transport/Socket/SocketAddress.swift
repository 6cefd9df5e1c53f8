#if canImport(Glibc)
import Wire
import Glibc
#endif

/// An IPv4 or IPv6 socket address parsed from "HOST:PORT", "[IPV6]:PORT",
/// "localhost:PORT" or "*:PORT" (every IPv4 interface). Port 0 asks the
/// kernel for a free port; the bound port is read back after `bind`.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address family.
    public enum Family: Sendable { case ipv4, ipv6 }

    public let host: String
    public let port: UInt16
    public let family: Family
    /// Network-order address bytes (4 or 16).
    let addressBytes: [UInt8]

    public init(parsing text: String) throws(RPCError) {
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .invalidAddress(text, reason: "an IPv6 address needs its closing ']'")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalidAddress(text, reason: "no :PORT after the IPv6 address") }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalidAddress(text, reason: "no :PORT") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw .invalidAddress(text, reason: "write IPv6 addresses in brackets, as [::1]:PORT")
            }
        }
        guard let port = UInt16(portPart) else {
            throw .invalidAddress(text, reason: "port \"\(portPart)\" is not a number from 0 to 65535")
        }
        try self.init(host: String(hostPart), port: port, original: text)
    }

    public init(host: String, port: UInt16) throws(RPCError) {
        try self.init(host: host, port: port, original: "\(host):\(port)")
    }

    private init(host: String, port: UInt16, original: String) throws(RPCError) {
        var name = host
        if name == "localhost" { name = "127.0.0.1" }
        if name == "*" || name.isEmpty { name = "0.0.0.0" }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            family = .ipv4
            addressBytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, name, &v6) == 1 {
            family = .ipv6
            addressBytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            throw .invalidAddress(original, reason: "\"\(host)\" is not an IPv4 or IPv6 address (or localhost)")
        }
        self.host = host
        self.port = port
    }

    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var domain: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    /// Calls `body` with this address as a `sockaddr`.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(RPCError) -> R) throws(RPCError) -> R {
        switch family {
        case .ipv4:
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: addressBytes) }
            return try withUnsafePointer(to: &a) { p throws(RPCError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { s throws(RPCError) in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6:
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: addressBytes) }
            return try withUnsafePointer(to: &a) { p throws(RPCError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { s throws(RPCError) in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
