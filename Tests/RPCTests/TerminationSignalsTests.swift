import Foundation
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

@Suite("SIGTERM/SIGINT handling")
struct TerminationSignalsTests {
    @Test("SIGINT reaches the handler instead of killing the process")
    func sigint() async {
        let received = Event()
        let signals = TerminationSignals(queue: DispatchQueue(label: "signals-test")) { number in
            if number == SIGINT { received.signal() }
        }
        // The source registers asynchronously; until then SIGINT is ignored,
        // so send it until it arrives.
        var arrived = false
        for _ in 0..<200 where !arrived {
            kill(getpid(), SIGINT)
            arrived = await received.wait(seconds: 0.1)
        }
        #expect(arrived)
        withExtendedLifetime(signals) {}
    }
}
