import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range,
/// then the raw data. The header is validated when the file is opened;
/// tensors are converted to Float on request (F32, F16, BF16).
public final class SafetensorsFile: @unchecked Sendable {
    /// Element types we can read; others (I64 `position_ids`, …) are listed
    /// but skipped.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        var size: Int { self == .f32 ? 4 : 2 }
    }

    /// One entry of the header.
    public struct TensorInfo: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range within the data region.
        public var begin: Int
        public var end: Int
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    // Immutable mapping, read-only: safe to share (hence @unchecked Sendable).
    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let dataStart: Int

    public init(path: String) throws(CrossEncoderError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        let length = Int(st.st_size)
        guard length >= 8 else { throw .invalidSafetensors(path: path, problem: "file is \(length) bytes, shorter than the 8-byte header length") }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .unreadableFile(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        let headerLength = Int(UInt64(littleEndian: mapped.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= length - 8 else {
            munmap(mapped, length)
            throw .invalidSafetensors(path: path, problem: "header length \(headerLength) does not fit in a \(length)-byte file")
        }
        let headerData = Data(bytes: mapped + 8, count: headerLength)
        let dataLength = length - 8 - headerLength
        do {
            tensors = try Self.parseHeader(headerData, dataLength: dataLength, path: path)
        } catch {
            munmap(mapped, length)
            throw error
        }
        self.base = mapped
        self.length = length
        self.dataStart = 8 + headerLength
    }

    deinit { munmap(base, length) }

    private static func parseHeader(_ data: Data, dataLength: Int, path: String) throws(CrossEncoderError) -> [String: TensorInfo] {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw .invalidSafetensors(path: path, problem: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalidSafetensors(path: path, problem: "header is not a JSON object")
        }
        var out: [String: TensorInfo] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [NSNumber], let offsets = entry["data_offsets"] as? [NSNumber],
                  offsets.count == 2 else {
                throw .invalidSafetensors(path: path, problem: "tensor \(name): header entry needs dtype, shape and two data_offsets")
            }
            let dims = shape.map(\.intValue)
            let begin = offsets[0].intValue, end = offsets[1].intValue
            guard dims.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= dataLength else {
                throw .invalidSafetensors(path: path, problem: "tensor \(name): data_offsets [\(begin), \(end)] or shape \(dims) out of range (data region is \(dataLength) bytes)")
            }
            if let known = DType(rawValue: dtype) {
                let elements = dims.reduce(1, *)
                guard elements * known.size == end - begin else {
                    throw .invalidSafetensors(path: path, problem: "tensor \(name): shape \(dims) of \(dtype) needs \(elements * known.size) bytes, data_offsets give \(end - begin)")
                }
            }
            out[name] = TensorInfo(dtype: dtype, shape: dims, begin: begin, end: end)
        }
        return out
    }

    /// The tensor converted to Float, row-major. Throws for a dtype we do not
    /// read.
    public func floats(_ name: String) throws(CrossEncoderError) -> [Float] {
        guard let info = tensors[name] else { throw .missingTensor(name: name, path: path) }
        guard let dtype = DType(rawValue: info.dtype) else {
            throw .invalidSafetensors(path: path, problem: "tensor \(name) has dtype \(info.dtype); only F32, F16 and BF16 are read")
        }
        let count = (info.end - info.begin) / dtype.size
        let source = UnsafeRawPointer(base + dataStart + info.begin)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch dtype {
            case .f32:
                memcpy(buffer.baseAddress!, source, count * 4)
            case .f16:
                for i in 0..<count {
                    buffer[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .bf16:
                for i in 0..<count {
                    let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                    buffer[i] = Float(bitPattern: bits)
                }
            }
            initialized = count
        }
    }
}
