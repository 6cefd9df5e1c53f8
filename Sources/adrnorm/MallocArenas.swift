internal import CMalloc

/// The number of glibc malloc arenas `adrnorm serve` runs with.
///
/// glibc gives each thread that allocates while another holds an arena's
/// lock an arena of its own, up to 8 per core, and keeps the memory freed in
/// each one for later use by that arena. A server's allocations come from
/// many threads (a queue per connection, the call tasks, the encoder), so
/// after a burst of connections every arena holds its own peak: 1,000
/// connections reset while being answered left the demo server 16 MB larger
/// (57 → 73 MB) and growing a few MB with each further round, although every
/// object was freed (with one arena the same runs come back flat). Two arenas
/// keep it flat and cost nothing measurable here: the encoder's hot path does
/// not allocate and the per-call allocations are small.
enum MallocArenas {
    /// `--malloc-arenas`' default.
    static let serveDefault = 2

    /// Caps the arenas at `count` (0: leave glibc's default, 8 per core, or
    /// the MALLOC_ARENA_MAX environment variable). Call first thing: arenas
    /// made before it stay. Returns false where glibc refuses.
    static func limit(to count: Int) -> Bool {
        guard count > 0 else { return true }
        return adrn_malloc_set_arena_max(Int32(clamping: count)) == 1
    }
}
