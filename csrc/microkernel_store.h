// The epilogue shared by the fp32 and bf16 microkernels: write (or add) a tile of MR x NR zmm
// accumulators into C, masking the columns past `valid`.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

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

}  // namespace lstmkit
#endif
