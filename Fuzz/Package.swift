// swift-tools-version:6.0
//
// libFuzzer targets for the wire decoders: the frame decoder and every
// service message decoder of the Wire module. Built and run only by
// Scripts/fuzz (with -sanitize=fuzzer,address, in .build-fuzz/); the main
// package's build and tests never see this package. See README.md.
import Foundation
import PackageDescription

// The main package is the checkout this folder sits in. SwiftPM names a
// path dependency after its folder, which differs between checkouts
// (worktrees, CI), so the name is taken from the path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootPackage = root.lastPathComponent

let package = Package(
    name: "adrnorm-fuzz",
    dependencies: [
        .package(path: root.path),
    ],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver (the runtime comes with -sanitize=fuzzer).
        .systemLibrary(name: "CLibFuzzer"),
        // The checks themselves: what is fed where and what must hold.
        .target(name: "FuzzChecks", dependencies: ["CLibFuzzer", .product(name: "Wire", package: rootPackage)]),
        // One fuzz target each, run by libFuzzer's driver. Linked with the
        // toolchain's lld: Debian's gold crashes on the sanitizer runtimes.
        .executableTarget(name: "fuzz-frames", dependencies: ["CLibFuzzer", "FuzzChecks"],
                          linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
        .executableTarget(name: "fuzz-messages", dependencies: ["CLibFuzzer", "FuzzChecks"],
                          linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
    ],
    swiftLanguageModes: [.v6]
)
