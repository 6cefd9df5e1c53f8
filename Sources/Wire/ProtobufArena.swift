import Foundation
internal import CProtobufC

/// Owns the C memory of one protobuf-c message tree that Swift builds for
/// packing: nested messages, strings and byte buffers are allocated here and
/// all freed together when the arena goes away. Use it inside one function;
/// never let a pointer from it escape.
final class ProtobufArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    /// A zeroed C struct, initialised by the generated `…__init` function.
    func message<T>(_ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        guard let raw = calloc(1, MemoryLayout<T>.stride) else {
            preconditionFailure("calloc failed for a \(MemoryLayout<T>.stride)-byte protobuf message")
        }
        allocations.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: 1)
        initialize(typed)
        return typed
    }

    /// An array of pointers, e.g. for a repeated message field.
    func pointerArray<T>(_ elements: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        if elements.isEmpty { return nil }
        guard let raw = calloc(elements.count, MemoryLayout<UnsafeMutablePointer<T>?>.stride) else {
            preconditionFailure("calloc failed for \(elements.count) pointers")
        }
        allocations.append(raw)
        let typed = raw.bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: elements.count)
        for (i, element) in elements.enumerated() { typed[i] = element }
        return typed
    }

    /// A NUL-terminated copy of `string`. A string with an embedded NUL
    /// is cut there by C; callers validate text fields before encoding.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(string) else { preconditionFailure("strdup failed") }
        allocations.append(UnsafeMutableRawPointer(copy))
        return copy
    }

    /// An array of NUL-terminated strings for a repeated string field.
    func strings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        if strings.isEmpty { return nil }
        guard let raw = calloc(strings.count, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride) else {
            preconditionFailure("calloc failed for \(strings.count) strings")
        }
        allocations.append(raw)
        let typed = raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: strings.count)
        for (i, s) in strings.enumerated() { typed[i] = string(s) }
        return typed
    }

    /// A copy of `bytes` as a protobuf-c binary field.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        if bytes.isEmpty { return ProtobufCBinaryData(len: 0, data: nil) }
        guard let raw = malloc(bytes.count) else { preconditionFailure("malloc failed for \(bytes.count) bytes") }
        allocations.append(raw)
        bytes.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        return ProtobufCBinaryData(len: bytes.count, data: raw.assumingMemoryBound(to: UInt8.self))
    }
}

/// Packs a protobuf-c message into Swift bytes.
func packProtobuf(_ message: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
    let size = protobuf_c_message_get_packed_size(message)
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = protobuf_c_message_pack(message, buffer.baseAddress!)
        precondition(count == size, "protobuf-c packed \(count) bytes, expected \(size); this is a bug")
    }
}

extension Array where Element == UInt8 {
    /// A Swift copy of a protobuf-c bytes field.
    init(protobufC data: ProtobufCBinaryData) {
        if data.len == 0 || data.data == nil { self = [] } else {
            self = Array(UnsafeBufferPointer(start: data.data, count: data.len))
        }
    }
}
