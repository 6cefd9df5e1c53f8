internal import CProtobufC

/// The protobuf-c library linked at run time.
public enum ProtobufCLibrary {
    /// Its version, e.g. "1.4.1".
    public static var version: String { String(cString: protobuf_c_version()) }
}
