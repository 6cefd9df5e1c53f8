#if canImport(Glibc)
import Wire
import Glibc
#endif
import Foundation

/// Socket system calls on raw descriptors, each through `checkedSyscall`.
/// Descriptors are created non-blocking and close-on-exec. Whoever owns a
/// descriptor closes it (in a Dispatch source's cancel handler once a source
/// watches it); these functions never close one they did not just create.
package enum Socket {
    /// A listening socket bound to `address`; returns the descriptor and the
    /// port actually bound (the kernel's choice when `address.port` is 0).
    package static func listen(on address: SocketAddress, backlog: Int32 = 512) throws(RPCError) -> (fd: Int32, port: UInt16) {
        let fd = try makeSocket(domain: address.domain)
        do throws(RPCError) {
            var one: Int32 = 1
            _ = try checkedSyscall("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if address.family == .ipv6 {
                _ = try checkedSyscall("setsockopt(IPV6_V6ONLY)") {
                    setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            try address.withSockAddr { (sa, len) throws(RPCError) in
                _ = try checkedSyscall("bind(\(address))") { bind(fd, sa, len) }
            }
            _ = try checkedSyscall("listen(\(address))") { Glibc.listen(fd, backlog) }
            return (fd, try boundPort(fd))
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Accepts one pending connection as a non-blocking descriptor, or
    /// `.wouldBlock` when none is pending.
    package static func accept(_ listener: Int32) throws(RPCError) -> IOResult<Int32> {
        // accept4 is not visible to Swift without _GNU_SOURCE; accept plus
        // fcntl does the same (the listener is ours alone, so no fork race).
        let result = try checkedSyscall("accept") { Glibc.accept(listener, nil, nil) }
        if case .processed(let fd) = result {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            setNoDelay(fd)
        }
        return result
    }

    /// Connects to `address`, waiting at most `timeout`; the descriptor
    /// returned is non-blocking.
    package static func connect(to address: SocketAddress, timeout: Duration) throws(RPCError) -> Int32 {
        let fd = try makeSocket(domain: address.domain)
        do throws(RPCError) {
            let started = try address.withSockAddr { (sa, len) throws(RPCError) in
                try checkedSyscall("connect(\(address))", inProgressIsWouldBlock: true) { Glibc.connect(fd, sa, len) }
            }
            if case .wouldBlock = started {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(clamping: timeout.saturatingNanoseconds / 1_000_000)
                let ready = try checkedSyscall("poll(connect \(address))") { poll(&pfd, 1, ms) }
                guard case .processed(let n) = ready, n > 0 else { throw RPCError.timedOut("connecting to \(address)") }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = try checkedSyscall("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) }
                if err != 0 { throw RPCError.system(call: "connect(\(address))", errno: err) }
            }
            setNoDelay(fd)
            return fd
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Reads what is available into `buffer`: `.processed(0)` is end of stream.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(RPCError) -> IOResult<Int> {
        try checkedSyscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Sends without ever raising SIGPIPE.
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(RPCError) -> IOResult<Int> {
        try checkedSyscall("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func makeSocket(domain: Int32) throws(RPCError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard case .processed(let fd) = try checkedSyscall("socket", { socket(domain, type, 0) }) else {
            preconditionFailure("socket() reported EAGAIN; this is a bug")
        }
        return fd
    }

    private static func setNoDelay(_ fd: Int32) {
        // Small request/response frames: Nagle would add up to 40 ms per call.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func boundPort(_ fd: Int32) throws(RPCError) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { p throws(RPCError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { s throws(RPCError) in
                try checkedSyscall("getsockname") { getsockname(fd, s, &len) }
            }
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self).sin_port.bigEndian }
        default:
            return withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self).sin6_port.bigEndian }
        }
    }
}
