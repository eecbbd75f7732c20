// The microkernel of microkernel.cpp on bfloat16 pairs, for matmul_precision="bf16".
//
// Panels hold K/2 rows of 16 column pairs (W[k][c], W[k+1][c]) in one zmm; per k-pair each row
// of A contributes one broadcast pair, and vdpbf16ps adds both products into a float32 lane.
// MKL's bf16 GEMM runs at fp32 speed on AMD CPUs, so this is what makes the recurrence itself
// use AVX512-BF16.
#include "microkernel.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#include <immintrin.h>

#include "microkernel_store.h"
#define LSTMKIT_HAVE_BF16_KERNEL 1
#endif

namespace lstmkit {

namespace {
inline uint16_t to_bf16(float x) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
}  // namespace

int64_t microkernel_bf16_packed_size(int64_t N, int64_t K) { return ((N + 15) / 16) * ((K + 1) / 2) * 32; }

void microkernel_bf16_pack(bool tb, int64_t N, int64_t K, const float* B, int64_t ldb, uint16_t* dest) {
  const int64_t panels = (N + 15) / 16, Kp = (K + 1) / 2;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t kp = 0; kp < Kp; ++kp)
      for (int64_t c = 0; c < 16; ++c)
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t j = p * 16 + c, k = 2 * kp + e;
          const float v = (j < N && k < K) ? (tb ? B[j * ldb + k] : B[k * ldb + j]) : 0.f;
          dest[((p * Kp + kp) * 16 + c) * 2 + e] = to_bf16(v);
        }
}

#ifdef LSTMKIT_HAVE_BF16_KERNEL

bool microkernel_bf16_available() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") && !microkernel_disabled();
  }();
  return ok;
}

namespace {

template <int MR, int NR>
__attribute__((target("avx512f,avx512bf16"))) inline void tile(int64_t Kp, const uint16_t* A, int64_t lda2,
                                                               const uint16_t* P, float* C, int64_t ldc,
                                                               int64_t valid, bool accumulate) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  const int64_t ps = Kp * 32;  // uint16s between panels
  for (int64_t kp = 0; kp < Kp; ++kp) {
    __m512bh b[NR];
    for (int j = 0; j < NR; ++j) b[j] = (__m512bh)_mm512_load_si512(P + j * ps + kp * 32);
    for (int i = 0; i < MR; ++i) {
      int32_t pair;
      std::memcpy(&pair, A + i * lda2 + 2 * kp, sizeof(pair));
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], a, b[j]);
    }
  }
  store_tile<MR, NR>(acc, C, ldc, valid, accumulate);
}

}  // namespace

void microkernel_bf16_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* packed,
                           float* C, int64_t ldc, bool accumulate) {
  const int64_t Kp = (K + 1) / 2, lda2 = 2 * Kp;
  thread_local std::vector<uint16_t> a16;  // A rounded to bf16, rows padded to an even length
  a16.resize(M * lda2);
  for (int64_t i = 0; i < M; ++i) {
    uint16_t* row = a16.data() + i * lda2;
    for (int64_t k = 0; k < K; ++k) row[k] = to_bf16(A[i * lda + k]);
    if (K % 2) row[K] = 0;
  }
  const uint16_t* a = a16.data();
  dispatch_tiles<false>(M, N, [&](auto mr, auto nr, int64_t i, int64_t p) {
    tile<decltype(mr)::value, decltype(nr)::value>(Kp, a + i * lda2, lda2, packed + p * Kp * 32,
                                                     C + i * ldc + 16 * p, ldc, N - 16 * p, accumulate);
  });
}

#else

bool microkernel_bf16_available() { return false; }
void microkernel_bf16_gemm(int64_t, int64_t, int64_t, const float*, int64_t, const uint16_t*, float*, int64_t, bool) {}

#endif

}  // namespace lstmkit
