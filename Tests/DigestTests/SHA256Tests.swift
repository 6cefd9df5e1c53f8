import Digest
import Testing

@Suite("streaming SHA-256")
struct SHA256Tests {
    @Test("NIST FIPS 180-4 example vectors: empty, abc, two blocks, 1,000,000 × a")
    func vectors() {
        #expect(SHA256.hex(of: "".utf8) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: "abc".utf8) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("1,000,000 × a fed in uneven pieces, as bytes, strings and a non-contiguous collection")
    func streaming() {
        var hash = SHA256()
        var fed = 0
        for (i, size) in [1, 63, 64, 65, 4096, 100_000].cycled(until: 1_000_000).enumerated() {
            let piece = [UInt8](repeating: 0x61, count: size)
            switch i % 3 {
            case 0: piece.withUnsafeBytes { hash.update($0) }
            case 1: hash.update(String(decoding: piece, as: UTF8.self))
            default: hash.update(piece.lazy.map { $0 })
            }
            fed += size
        }
        #expect(fed == 1_000_000)
        #expect(hash.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("split at every offset around the 64-byte blocks: the same digest as at once")
    func splits() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let whole = SHA256.hex(of: bytes)
        for split in [0, 1, 55, 56, 63, 64, 65, 128, 299, 300] {
            var hash = SHA256()
            hash.update(bytes[..<split])
            hash.update(bytes[split...])
            #expect(hash.finalizeHex() == whole, "split at \(split)")
        }
        let empty = SHA256()
        #expect(empty.finalize().count == 32)
    }
}

extension Array where Element == Int {
    /// The sizes repeated, the last one cut, so that they add up to `total`.
    func cycled(until total: Int) -> [Int] {
        var out: [Int] = []
        var sum = 0
        while sum < total {
            let next = Swift.min(self[out.count % count], total - sum)
            out.append(next)
            sum += next
        }
        return out
    }
}
