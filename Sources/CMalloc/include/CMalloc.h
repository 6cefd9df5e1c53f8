#ifndef ADRNORM_CMALLOC_H
#define ADRNORM_CMALLOC_H
// glibc's malloc tuning, which Swift's Glibc module does not import
// (<malloc.h> is not in it, and M_ARENA_MAX is a negative macro).

// mallopt(M_ARENA_MAX, count): at most `count` arenas from now on. 1 on
// success, 0 where refused (or not glibc).
int adrn_malloc_set_arena_max(int count);

#endif
