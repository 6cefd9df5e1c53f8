/// The version the server reports: Info's server_version and server_name.
enum AdrnormVersion {
    static let current = "0.1.0"
}
