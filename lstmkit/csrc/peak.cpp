// The CPU's physical arithmetic peak, measured: the yardstick the benchmarks judge kernels by.
//
// A large torch.mm is not a peak: on some CPUs BLAS takes a slower path (MKL runs AVX2 code on
// AMD), and a kernel can "beat" it. What bounds every kernel is the FMA units themselves. Each
// thread here runs 12 independent chains of 512-bit FMAs (more chains than FMA latency x ports,
// so the units never wait on a result), for a fixed count, inside one parallel region; the best
// of several timed rounds is reported. The bf16 figure uses AVX512-BF16's vdpbf16ps (two
// products per lane per instruction), where the CPU has it.
#include <omp.h>
#include <torch/library.h>

#include <chrono>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LSTMKIT_HAVE_PEAK_AVX512 1
#endif

namespace lstmkit {

namespace {

constexpr int kChains = 12;
constexpr int64_t kIters = 1 << 20;  // per round and thread: 12 * 2^20 FMAs, ~4-8 ms per core

#ifdef LSTMKIT_HAVE_PEAK_AVX512
__attribute__((target("avx512f"), noinline)) float fp32_chains(int64_t iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * (c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512bf16"), noinline)) float bf16_chains(int64_t iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * (c + 1));
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);  // 1.0, ~6e-8
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
}
bool has_avx512_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") != 0;
}
#endif

// Best GFLOP/s over rounds lasting about `seconds` in all; flops_per_iter counts one thread's
// chains for one iteration.
template <typename F> double best_rate(const F& body, double flops_per_iter, double seconds, int threads) {
  double best = 0.0, spent = 0.0;
  volatile float sink = 0.f;
  for (int round = 0; round < 3 || spent < seconds; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const float r = body(kIters);
#pragma omp critical
      sink = sink + r;
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spent += dt;
    best = std::max(best, threads * flops_per_iter * kIters / dt / 1e9);
    if (round > 1000) break;
  }
  (void)sink;
  return best;
}

}  // namespace

// [fp32 GFLOP/s, bf16 GFLOP/s] with `threads` threads (0 for bf16 where the CPU lacks it;
// both 0 without AVX-512, where this microbenchmark does not apply).
std::vector<double> fma_peak(double seconds, int64_t threads) {
  TORCH_CHECK(threads >= 1, "fma_peak: threads must be >= 1, got ", threads);
  TORCH_CHECK(seconds > 0, "fma_peak: seconds must be > 0, got ", seconds);
  std::vector<double> out{0.0, 0.0};
#ifdef LSTMKIT_HAVE_PEAK_AVX512
  if (has_avx512()) out[0] = best_rate(fp32_chains, kChains * 16 * 2.0, seconds, (int)threads);
  if (has_avx512() && has_avx512_bf16()) out[1] = best_rate(bf16_chains, kChains * 32 * 2.0, seconds, (int)threads);
#endif
  return out;
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("fma_peak(float seconds, int threads) -> float[]", &lstmkit::fma_peak);
}
