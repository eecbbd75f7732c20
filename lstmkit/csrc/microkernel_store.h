// What the fp32 and bf16 microkernels share: the tiling of C into register tiles (dispatch_tiles)
// and the epilogue that writes (or adds) a tile of MR x NR zmm accumulators into C.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace lstmkit {

template <int MR, int NR>
__attribute__((target("avx512f"))) inline void store_tile(__m512 (&acc)[MR][NR], float* C, int64_t ldc,
                                                          int64_t valid, bool accumulate) {
  for (int j = 0; j < NR; ++j) {
    const int64_t w = std::min<int64_t>(16, valid - 16 * j);
    if (w <= 0) break;
    const __mmask16 m = (__mmask16)((w >= 16) ? 0xFFFF : ((1u << w) - 1));
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc + 16 * j;
      __m512 v = acc[i][j];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
      _mm512_mask_storeu_ps(c, m, v);
    }
  }
}

// C (M x N) in tiles of up to 6 rows x 4 panels of 16 columns (with Gemv8, a single row takes 8
// panels at a time: more loads in flight for a GEMV). run(mr, nr, i, p) computes the MR x NR
// tile at row i and panel p; MR and NR arrive as std::integral_constant, so each kernel's
// tile<MR, NR> is instantiated for exactly the shapes used here.
template <bool Gemv8, class Run>
inline void dispatch_tiles(int64_t M, int64_t N, Run&& run) {
  using std::integral_constant;
  const int64_t panels = (N + 15) / 16;
  auto row_block = [&](auto mr, int64_t i) {
    int64_t p = 0;
    if constexpr (Gemv8 && decltype(mr)::value == 1)
      for (; p + 8 <= panels; p += 8) run(mr, integral_constant<int, 8>{}, i, p);
    for (; p + 4 <= panels; p += 4) run(mr, integral_constant<int, 4>{}, i, p);
    switch (panels - p) {
      case 3: run(mr, integral_constant<int, 3>{}, i, p); break;
      case 2: run(mr, integral_constant<int, 2>{}, i, p); break;
      case 1: run(mr, integral_constant<int, 1>{}, i, p); break;
      default: break;
    }
  };
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) row_block(integral_constant<int, 6>{}, i);
  switch (M - i) {
    case 5: row_block(integral_constant<int, 5>{}, i); break;
    case 4: row_block(integral_constant<int, 4>{}, i); break;
    case 3: row_block(integral_constant<int, 3>{}, i); break;
    case 2: row_block(integral_constant<int, 2>{}, i); break;
    case 1: row_block(integral_constant<int, 1>{}, i); break;
    default: break;
  }
}

}  // namespace lstmkit
#endif
