import Wire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a `SecureChannel` reports to its owner. Every call arrives on the
/// channel's queue.
package protocol SecureChannelDelegate: AnyObject {
    /// The TLS handshake finished; frames may flow.
    func channelDidCompleteHandshake(_ channel: SecureChannel)
    func channel(_ channel: SecureChannel, didReceive frame: Frame)
    /// The peer's byte stream cannot be framed (bad length prefix, bad
    /// protobuf). No more frames will be delivered; the owner decides what
    /// to send before closing.
    func channel(_ channel: SecureChannel, didFailFraming error: RPCError)
    /// The connection is closed (`error` nil for an orderly close).
    func channelDidClose(_ channel: SecureChannel, error: RPCError?)
    /// Unsent output fell to half of `outputLimit` or below after being
    /// above it: the peer is reading again.
    func channelDidDrainOutput(_ channel: SecureChannel)
}

extension SecureChannelDelegate {
    package func channelDidDrainOutput(_ channel: SecureChannel) {}
}

/// One TCP connection carrying TLS and length-prefixed frames, driven by a
/// `DispatchSourceRead` and a `DispatchSourceWrite` on one serial queue.
///
/// @unchecked Sendable: every mutable property is touched only on `queue`
/// (the sources' handlers run there, and the public entry points must be
/// called there); the descriptor is closed only in the sources' cancel
/// handlers, after both sources are cancelled.
package final class SecureChannel: @unchecked Sendable {
    package let queue: DispatchQueue
    package weak var delegate: SecureChannelDelegate?
    package let tls: TLSSession

    /// `lingering`: our output is sent and our side shut down; input is read
    /// and discarded until the peer closes (or a short timeout), so that
    /// closing with unread input does not reset the connection and destroy
    /// the GoAway we just sent.
    private enum State { case handshaking, open, lingering, closed }
    private var state: State = .handshaking
    private let fd: Int32
    private let readSource: DispatchSourceRead
    private let writeSource: DispatchSourceWrite
    // Suspension state of each source, changed only in `setInterest`.
    private var readSuspended = true
    private var writeSuspended = true
    /// Reading stopped because the output buffer is over its limit.
    private var pausedForOutput = false
    /// Reading stopped because framing failed; the connection is ending.
    private var framingFailed = false
    /// Reading stopped on the owner's request (flow-control tests).
    private var readingPausedByOwner = false
    /// The owner decided to close: no more input is read or delivered.
    private var inputStopped = false
    private var decoder: FrameDecoder
    private var plaintextOut: [UInt8] = []
    private var plaintextIn: [UInt8] = []
    private var ciphertextOut: [UInt8] = []
    private var ciphertextOffset = 0
    /// Close as soon as `ciphertextOut` is sent.
    private var closeAfterFlush = false
    /// Above zero inside a read event or `batchingSends`: sends are queued
    /// and flushed together at its end (one TLS record, one write).
    private var batchDepth = 0
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// Above this many unsent bytes the channel stops reading (docs/PROTOCOL.md §Credits).
    package let outputLimit: Int
    package private(set) var lastActivity = DispatchTime.now()
    /// When output last moved: a write took at least a byte, or output was
    /// queued while none was waiting. With output waiting, the time since
    /// is how long the peer has not been reading.
    package private(set) var lastOutputProgress = DispatchTime.now()
    /// Unsent output of all the server's connections, this one included.
    private let outputBudget: ByteBudget?
    /// This channel's share of `outputBudget` as last counted.
    private var countedOutput = 0

    package init(fd: Int32, tls: TLSSession, queue: DispatchQueue, maxFrameBytes: UInt32, outputLimit: Int,
                 outputBudget: ByteBudget? = nil) {
        self.fd = fd
        self.outputBudget = outputBudget
        self.tls = tls
        self.queue = queue
        self.decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        self.outputLimit = outputLimit
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        // Both sources watch one descriptor: the last cancel handler closes it.
        let remaining = CancelCounter(2)
        let close: @Sendable () -> Void = { if remaining.decrement() { _ = Glibc.close(fd) } }
        readSource.setCancelHandler(handler: close)
        writeSource.setCancelHandler(handler: close)
        readSource.setEventHandler { [weak self] in self?.handleReadable() }
        writeSource.setEventHandler { [weak self] in self?.handleWritable() }
    }

    deinit {
        if countedOutput != 0 { outputBudget?.add(-countedOutput) }
        // A suspended source must be resumed before it is released.
        if state != .closed {
            if readSuspended { readSource.resume() }
            if writeSuspended { writeSource.resume() }
            readSource.cancel()
            writeSource.cancel()
        }
        readBuffer.deallocate()
    }

    /// Starts watching the socket; a client also sends its ClientHello.
    /// Call on `queue`, once.
    package func start(asClient: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
        setInterest(read: true, write: false)
        if asClient { advanceTLS(); flush() }
    }

    package var isOpen: Bool { state == .open }
    package var isClosed: Bool { state == .closed }

    /// Unsent bytes (TLS records) waiting for the socket.
    package var pendingOutputBytes: Int { ciphertextOut.count - ciphertextOffset + plaintextOut.count }

    /// Queues a frame. Outside a read event it is encrypted and sent now;
    /// inside one, with everything else the event produced.
    package func send(_ frame: Frame) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard state == .open else { return }
        plaintextOut.append(contentsOf: frame.lengthPrefixed())
        if batchDepth == 0 { flush() } else { countOutput() }
    }

    /// Runs `body` with every `send` in it queued, then encrypts and writes
    /// them together: the frames one event produces (a response and its
    /// Status, say) cost one TLS record and one system call, not one each.
    package func batchingSends(_ body: () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        batchDepth += 1
        body()
        batchDepth -= 1
        if batchDepth == 0 { flush() }
    }

    /// Queues raw bytes as if they were frames (protocol tests only).
    package func sendRaw(_ bytes: [UInt8]) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard state == .open else { return }
        plaintextOut.append(contentsOf: bytes)
        if batchDepth == 0 { flush() }
    }

    /// Reads the socket now as if it had reported readable: a safety net
    /// for a readiness event the event loop did not deliver (seen with
    /// libdispatch after floods of resets). Does nothing while reading is
    /// paused; harmless when nothing is waiting.
    package func pollInput() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard (state == .open || state == .handshaking) && !readSuspended else { return }
        handleReadable()
    }

    /// Stops or resumes reading from the socket at the owner's request.
    package func setReadingPaused(_ paused: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard state == .open || state == .handshaking else { return }
        readingPausedByOwner = paused
        updateReadInterest()
    }

    /// Sends what is queued plus a TLS close_notify, then closes.
    package func closeGracefully() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard state == .open || state == .handshaking else { return }
        // Frames that arrive after this decision are not acted on.
        inputStopped = true
        if state == .open {
            encryptPending()
            tls.shutdown()
        }
        closeAfterFlush = true
        flush()
    }

    /// Closes now, dropping unsent output.
    package func close(error: RPCError?) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard state != .closed else { return }
        state = .closed
        // Resume before cancel: a suspended source never runs its cancel
        // handler, and releasing one crashes.
        setInterest(read: true, write: true)
        readSource.cancel()
        writeSource.cancel()
        plaintextOut = []
        ciphertextOut = []
        ciphertextOffset = 0
        countOutput()
        delegate?.channelDidClose(self, error: error)
    }

    // MARK: - Events

    private func handleReadable() {
        guard state != .closed else { return }
        if state == .lingering { return discardInput() }
        var sawEOF = false
        // Bounded, so one busy connection cannot starve the others on a
        // shared thread; the level-triggered source fires again.
        for _ in 0..<8 {
            let result: IOResult<Int>
            do throws(RPCError) { result = try Socket.read(fd, into: readBuffer) } catch {
                close(error: error)
                return
            }
            guard case .processed(let n) = result else { break }
            // Only bytes count as activity: `pollInput` must not keep an
            // idle connection alive.
            lastActivity = .now()
            if n == 0 { sawEOF = true; break }
            tls.receiveCiphertext(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
            if n < readBuffer.count { break }
        }
        batchDepth += 1
        advanceTLS()
        batchDepth -= 1
        guard state == .open || state == .handshaking else {
            if sawEOF && state == .lingering { close(error: nil) }
            return
        }
        flush()
        if sawEOF && state != .closed && state != .lingering {
            close(error: state == .handshaking || !closeAfterFlush
                  ? .connectionClosed(reason: "the peer closed the connection") : nil)
        }
    }

    private func handleWritable() {
        guard state == .open || state == .handshaking else { return }
        flush()
    }

    /// Output done: send FIN, then read and drop input until the peer's FIN.
    private func beginLinger() {
        state = .lingering
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        setInterest(read: true, write: false)
        queue.asyncAfter(deadline: .now() + .seconds(2)) { [weak self] in
            guard let self, self.state == .lingering else { return }
            self.close(error: nil)
        }
    }

    private func discardInput() {
        while true {
            let result: IOResult<Int>
            do throws(RPCError) { result = try Socket.read(fd, into: readBuffer) } catch {
                return close(error: nil)
            }
            switch result {
            case .wouldBlock: return
            case .processed(0): return close(error: nil)
            case .processed: continue
            }
        }
    }

    /// Runs the handshake, then decrypts and decodes everything available.
    private func advanceTLS() {
        if state == .handshaking {
            switch tls.handshake() {
            case .complete:
                state = .open
                delegate?.channelDidCompleteHandshake(self)
            case .wantRead, .wantWrite:
                return
            case .closed:
                flush()
                close(error: .connectionClosed(reason: "the peer closed the connection during the TLS handshake"))
                return
            case .failed(let error):
                flushCiphertext() // the alert, so the peer learns why
                close(error: .tls(error))
                return
            }
        }
        guard state == .open, !framingFailed, !inputStopped else { return }
        let result = tls.read(into: &plaintextIn)
        if !plaintextIn.isEmpty {
            decoder.append(plaintextIn)
            plaintextIn.removeAll(keepingCapacity: true)
            decodeFrames()
        }
        switch result {
        case .closed:
            closeAfterFlush = true
        case .failed(let error):
            flushCiphertext()
            close(error: .tls(error))
        default:
            break
        }
    }

    private func decodeFrames() {
        while state == .open && !framingFailed && !inputStopped {
            do {
                guard case .frame(let frame) = try decoder.next() else { return }
                delegate?.channel(self, didReceive: frame)
            } catch {
                framingFailed = true
                updateReadInterest()
                delegate?.channel(self, didFailFraming: error)
                return
            }
        }
    }

    // MARK: - Output

    private func encryptPending() {
        guard !plaintextOut.isEmpty, state == .open else { return }
        let result = tls.write(plaintextOut)
        plaintextOut.removeAll(keepingCapacity: true)
        if case .failed(let error) = result { close(error: .tls(error)) }
    }

    /// Encrypts queued frames and writes as much as the socket takes; arms
    /// the write source for the rest.
    private func flush() {
        guard state == .open || state == .handshaking else { return }
        encryptPending()
        flushCiphertext()
    }

    private func flushCiphertext() {
        guard state == .open || state == .handshaking else { return }
        tls.takeCiphertext(into: &ciphertextOut)
        while ciphertextOffset < ciphertextOut.count {
            let attempt = ciphertextOut.withUnsafeBytes { raw in
                Result { () throws(RPCError) in
                    try Socket.send(fd, UnsafeRawBufferPointer(rebasing: raw[ciphertextOffset...]))
                }
            }
            let result: IOResult<Int>
            switch attempt {
            case .success(let r): result = r
            case .failure(let error): close(error: error); return
            }
            guard case .processed(let n) = result else { break }
            ciphertextOffset += n
            if n > 0 { lastOutputProgress = .now() }
        }
        if ciphertextOffset == ciphertextOut.count {
            ciphertextOut.removeAll(keepingCapacity: ciphertextOut.capacity <= 1 << 20)
            ciphertextOffset = 0
            if closeAfterFlush { beginLinger(); return }
        } else if ciphertextOffset > 1 << 20 {
            ciphertextOut.removeFirst(ciphertextOffset)
            ciphertextOffset = 0
        }
        updateReadInterest()
        countOutput()
    }

    /// Brings this channel's share of `outputBudget` up to date, starts the
    /// stall clock when output begins to wait, and tells the delegate when
    /// a backlog has drained to half the limit.
    private func countOutput() {
        let pending = pendingOutputBytes
        guard pending != countedOutput else { return }
        let before = countedOutput
        countedOutput = pending
        outputBudget?.add(pending - before)
        if before == 0 { lastOutputProgress = .now() }
        if before > outputLimit / 2 && pending <= outputLimit / 2 && state == .open {
            delegate?.channelDidDrainOutput(self)
        }
    }

    /// Back-pressure: stop reading while the peer does not drain our
    /// output (pause above the limit, resume below half of it).
    private func updateReadInterest() {
        let pending = pendingOutputBytes
        if pending > outputLimit { pausedForOutput = true }
        else if pending <= outputLimit / 2 { pausedForOutput = false }
        setInterest(read: !pausedForOutput && !framingFailed && !readingPausedByOwner && !inputStopped,
                    write: pending > 0)
        // (A lingering channel sets its own interest in `beginLinger`.)
    }

    /// The one place where sources are suspended and resumed, so the
    /// counts stay balanced.
    private func setInterest(read: Bool, write: Bool) {
        if read && readSuspended { readSource.resume(); readSuspended = false }
        else if !read && !readSuspended { readSource.suspend(); readSuspended = true }
        if write && writeSuspended { writeSource.resume(); writeSuspended = false }
        else if !write && !writeSuspended { writeSource.suspend(); writeSuspended = true }
    }
}

/// Counts down the cancel handlers of the sources sharing one descriptor.
private final class CancelCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    init(_ count: Int) { remaining = count }
    /// True for the last caller.
    func decrement() -> Bool {
        lock.lock(); defer { lock.unlock() }
        remaining -= 1
        return remaining == 0
    }
}
