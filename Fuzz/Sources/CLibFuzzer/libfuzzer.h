// libFuzzer's driver, from the toolchain's libclang_rt.fuzzer (linked by
// -sanitize=fuzzer). The fuzz targets call it from their own main: SwiftPM
// names an executable's entry point itself, so libFuzzer's main() is unused.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
