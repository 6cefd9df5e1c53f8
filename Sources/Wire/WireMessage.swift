internal import CProtobufC

/// A service message that travels as protobuf bytes in a `Message` frame
/// (or in `Call.payload`). The service messages and their conformances are
/// generated from Protos/ by Scripts/codegen (Generated/).
public protocol WireMessage: Sendable {
    /// Decodes protobuf bytes; malformed bytes, invalid UTF-8 in a string
    /// field or an unknown enum value are `INVALID_ARGUMENT` naming the field.
    init(serializedBytes: [UInt8]) throws(ServiceError)
    /// The protobuf encoding.
    func serializedBytes() -> [UInt8]
}

// MARK: - What the generated marshalling calls

/// The path of field `name` inside a message at `path` ("" at the top), as
/// error messages name it: "pairs[0].pt_code".
func fieldPath(_ path: String, _ name: String) -> String {
    path.isEmpty ? name : "\(path).\(name)"
}

/// protobuf-c 1.4.1 does not check that string fields are UTF-8 (its
/// unpacker copies the bytes as they are), so every string is validated here
/// while it is copied out.
func decodeText(_ pointer: UnsafePointer<CChar>?, _ field: @autoclosure () -> String) throws(ServiceError) -> String {
    guard let pointer else { return "" }
    guard let string = String(validatingCString: pointer) else {
        throw ServiceError(.invalidArgument, "\(field()): not valid UTF-8")
    }
    return string
}

func decodeTexts(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                 _ field: @autoclosure () -> String) throws(ServiceError) -> [String] {
    guard count > 0, let array else { return [] }
    var out: [String] = []
    out.reserveCapacity(count)
    for i in 0..<count { out.append(try decodeText(array[i], "\(field())[\(i)]")) }
    return out
}

/// A proto enum value this version defines; others are rejected, not kept.
func decodeEnum<E: RawRepresentable>(_ raw: UInt32, _ field: @autoclosure () -> String) throws(ServiceError) -> E
where E.RawValue == UInt32 {
    guard let value = E(rawValue: raw) else {
        throw ServiceError(.invalidArgument, "\(field()): unknown enum value \(raw)")
    }
    return value
}

/// A singular message field: nil when absent.
func decodeMessage<C, R>(_ pointer: UnsafeMutablePointer<C>?, _ field: @autoclosure () -> String,
                         _ convert: (C, String) throws(ServiceError) -> R) throws(ServiceError) -> R? {
    guard let pointer else { return nil }
    return try convert(pointer.pointee, field())
}

/// A repeated message field; each element's path is "field[i]".
func decodeMessages<C, R>(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, _ field: String,
                          _ convert: (C, String) throws(ServiceError) -> R) throws(ServiceError) -> [R] {
    guard count > 0, let array else { return [] }
    var out: [R] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        guard let element = array[i] else { continue }
        out.append(try convert(element.pointee, "\(field)[\(i)]"))
    }
    return out
}

/// A map field (its entries on the wire); a key sent twice keeps the last value.
func decodeMap<C, K: Hashable, V>(_ count: Int, _ array: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?,
                                  _ field: String,
                                  _ convert: (C, String) throws(ServiceError) -> (K, V)) throws(ServiceError) -> [K: V] {
    var out: [K: V] = [:]
    for (key, value) in try decodeMessages(count, array, field, convert) { out[key] = value }
    return out
}

/// Unpacks a whole payload, converts it and frees the C message.
func unpackMessage<C, R>(_ bytes: [UInt8], _ name: String,
                         _ unpacker: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<C>?,
                         _ free: (UnsafeMutablePointer<C>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void,
                         _ convert: (C) throws(ServiceError) -> R) throws(ServiceError) -> R {
    let message = bytes.withUnsafeBufferPointer { unpacker(nil, $0.count, $0.baseAddress) }
    guard let message else {
        throw ServiceError(.invalidArgument, "request payload is not a valid \(name) (\(bytes.count) bytes)")
    }
    defer { free(message, nil) }
    return try convert(message.pointee)
}

/// Packs a message built in a `ProtobufArena`.
func packMessage<C>(_ message: UnsafeMutablePointer<C>) -> [UInt8] {
    message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { packProtobuf($0) }
}
