/// A command that cannot go on, with a message that says why and what to do
/// (printed as `Error: …`, exit status 1).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
