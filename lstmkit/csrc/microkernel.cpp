// Register-tiled AVX-512 GEMM for small, repeated products: C = A * W with W packed once.
//
// A recurrent step multiplies a small state (B rows) by the same weight matrix T times. At
// B=32, H=64 or B=1, H=256 a BLAS call spends as long getting ready (dispatch, re-packing,
// threading decisions; on AMD CPUs MKL also takes its AVX2 path) as computing. Here the weight
// is packed once per call into 16-column panels (K x 16, one zmm per row of a panel), and each
// tile of up to 6 rows x 4 panels keeps its 24 accumulators in registers for the whole K loop:
// per k, 4 panel loads and one broadcast per row feed 24 FMAs. Ragged edges use masked stores.
#include "microkernel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "microkernel_store.h"
#define LSTMKIT_HAVE_AVX512_KERNEL 1
#endif

namespace lstmkit {

int64_t microkernel_packed_size(int64_t N, int64_t K) { return ((N + 15) / 16) * K * 16; }

void microkernel_pack(bool tb, int64_t N, int64_t K, const float* B, int64_t ldb, float* dest) {
  const int64_t panels = (N + 15) / 16;
  for (int64_t p = 0; p < panels; ++p) {
    float* out = dest + p * K * 16;  // (K, 16)
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t c = 0; c < 16; ++c) {
        const int64_t j = p * 16 + c;
        out[k * 16 + c] = j < N ? (tb ? B[j * ldb + k] : B[k * ldb + j]) : 0.f;
      }
    }
  }
}

#ifdef LSTMKIT_HAVE_AVX512_KERNEL

bool microkernel_disabled() {
  // LSTMKIT_DISABLE_AVX512=1 forces the portable BLAS path (tests use it on AVX-512 machines).
  const char* e = std::getenv("LSTMKIT_DISABLE_AVX512");
  return e && e[0] && e[0] != '0';
}

bool microkernel_available() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0 && !microkernel_disabled();
  }();
  return ok;
}

namespace {

// One tile: rows [0, MR) of A, panels [0, NR) starting at P; columns past `valid` are not stored.
template <int MR, int NR>
__attribute__((target("avx512f"))) inline void tile(int64_t K, const float* A, int64_t lda, const float* P,
                                                    float* C, int64_t ldc, int64_t valid, bool accumulate) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  const int64_t ps = K * 16;  // floats between panels
  for (int64_t k = 0; k < K; ++k) {
    __m512 b[NR];
    for (int j = 0; j < NR; ++j) b[j] = _mm512_load_ps(P + j * ps + k * 16);
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * lda + k]);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
  store_tile<MR, NR>(acc, C, ldc, valid, accumulate);
}

}  // namespace

void microkernel_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* packed, float* C,
                      int64_t ldc, bool accumulate) {
  dispatch_tiles<true>(M, N, [&](auto mr, auto nr, int64_t i, int64_t p) {
    tile<decltype(mr)::value, decltype(nr)::value>(K, A + i * lda, lda, packed + p * K * 16, C + i * ldc + 16 * p,
                                                     ldc, N - 16 * p, accumulate);
  });
}

#else  // no AVX-512 kernel on this compiler/architecture: callers use BLAS

bool microkernel_disabled() { return true; }
bool microkernel_available() { return false; }
void microkernel_gemm(int64_t, int64_t, int64_t, const float*, int64_t, const float*, float*, int64_t, bool) {}

#endif

}  // namespace lstmkit
