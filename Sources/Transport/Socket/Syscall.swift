#if canImport(Glibc)
import Wire
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of a non-blocking system call: it did something, or it
/// would have blocked (`EAGAIN`/`EWOULDBLOCK`, or `EINPROGRESS` for connect).
package enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

/// The one checked wrapper every socket call goes through: `EINTR` is
/// retried, `EAGAIN` becomes `.wouldBlock`, anything else throws
/// `RPCError.system` naming the call.
@inline(__always)
package func checkedSyscall<T: FixedWidthInteger>(_ name: String, inProgressIsWouldBlock: Bool = false,
                                          _ body: () -> T) throws(RPCError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let code = errno
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EINPROGRESS where inProgressIsWouldBlock:
            return .wouldBlock
        default:
            throw .system(call: name, errno: code)
        }
    }
}

/// Makes SIGPIPE impossible for the whole process: a write to a socket whose
/// peer has gone then fails with `EPIPE` instead of killing us. Sends also
/// pass `MSG_NOSIGNAL`; this covers any other write path. Idempotent.
public func ignoreBrokenPipeSignal() {
    _ = signal(SIGPIPE, SIG_IGN)
}
