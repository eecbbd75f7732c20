// Shared pieces of lstmkit's fused CPU kernels: activations that vectorise, the GEMM call,
// layer-norm rows, and the ISA dispatch macro.
//
// Every row kernel is written once as a template (float for speed, double for gradcheck) and
// the float instance is compiled three times by GCC's function multiversioning
// (LSTMKIT_CLONES): AVX-512, AVX2+FMA and baseline x86-64, picked at load time by the CPU's
// features. Nothing here uses -ffast-math: the rounding trick in exp_approx relies on IEEE
// arithmetic being kept as written.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LSTMKIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LSTMKIT_CLONES
#endif

// Helpers are force-inlined so each ISA clone of a row kernel compiles them with its own
// instruction set (an out-of-line helper would be built once, for the baseline ISA).
#if defined(__GNUC__)
#define LSTMKIT_INLINE inline __attribute__((always_inline))
#else
#define LSTMKIT_INLINE inline
#endif

namespace lstmkit {

// The activations of lstmkit.cells.spec.ACTIVATIONS. The ops take them by name (parse_act).
enum Act : int64_t { TANH = 0, SIGMOID = 1, HARD_SIGMOID = 2, RELU = 3, LINEAR = 4, SOFTSIGN = 5 };

inline Act parse_act(c10::string_view name) {
  if (name == "tanh") return TANH;
  if (name == "sigmoid") return SIGMOID;
  if (name == "hard_sigmoid") return HARD_SIGMOID;
  if (name == "relu") return RELU;
  if (name == "linear") return LINEAR;
  if (name == "softsign") return SOFTSIGN;
  TORCH_CHECK(false, "lstmkit fused kernels: unknown activation '", name,
              "' (tanh, sigmoid, hard_sigmoid, relu, linear, softsign)");
}

// An optional tensor argument of an op (schema type `Tensor?`).
using OptTensor = c10::optional<at::Tensor>;

// std::tuple of N tensors: the C++ type of an op whose schema returns N named tensors.
template <size_t, typename T> using Repeat = T;
template <typename Seq> struct TensorTuple;
template <size_t... I> struct TensorTuple<std::index_sequence<I...>> {
  using type = std::tuple<Repeat<I, at::Tensor>...>;
};
template <size_t N> using Tensors = typename TensorTuple<std::make_index_sequence<N>>::type;

// exp for float in a form GCC vectorises (Cephes expf polynomial, ~1 ulp on the clamped range).
static LSTMKIT_INLINE float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  float n = x * 1.44269504088896341f;
  n = (n + 12582912.0f) - 12582912.0f;  // round to nearest integer (1.5 * 2^23 trick)
  float r = x - n * 0.693359375f;
  r = r - n * (-2.12194440e-4f);
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = static_cast<int32_t>(n) + 127;
  uint32_t bits = static_cast<uint32_t>(e) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}
static LSTMKIT_INLINE double exp_approx(double x) { return std::exp(x); }

template <typename T> static LSTMKIT_INLINE T sigmoid_(T x) { return T(1) / (T(1) + exp_approx(-x)); }
template <typename T> static LSTMKIT_INLINE T tanh_(T x) { return T(1) - T(2) / (T(1) + exp_approx(T(2) * x)); }
template <> LSTMKIT_INLINE double tanh_<double>(double x) { return std::tanh(x); }

// y = act(x), elementwise over n (x and y may alias). The switch is outside the loops so each
// loop vectorises.
template <typename T> static LSTMKIT_INLINE void act_forward(int64_t kind, const T* x, T* y, int64_t n) {
  switch (kind) {
    case TANH: for (int64_t j = 0; j < n; ++j) y[j] = tanh_(x[j]); break;
    case SIGMOID: for (int64_t j = 0; j < n; ++j) y[j] = sigmoid_(x[j]); break;
    case HARD_SIGMOID:
      for (int64_t j = 0; j < n; ++j) y[j] = std::min(std::max(x[j] / T(6) + T(0.5), T(0)), T(1));
      break;
    case RELU: for (int64_t j = 0; j < n; ++j) y[j] = std::max(x[j], T(0)); break;
    case SOFTSIGN: for (int64_t j = 0; j < n; ++j) y[j] = x[j] / (T(1) + std::abs(x[j])); break;
    default: if (x != y) std::memcpy(y, x, sizeof(T) * n); break;  // LINEAR
  }
}

// dx = dy * act'(.) written in terms of the activation's output y (dx and dy may alias).
template <typename T> static LSTMKIT_INLINE void act_backward(int64_t kind, const T* y, const T* dy, T* dx, int64_t n) {
  switch (kind) {
    case TANH: for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (T(1) - y[j] * y[j]); break;
    case SIGMOID: for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * y[j] * (T(1) - y[j]); break;
    case HARD_SIGMOID:
      for (int64_t j = 0; j < n; ++j) dx[j] = (y[j] > T(0) && y[j] < T(1)) ? dy[j] / T(6) : T(0);
      break;
    case RELU: for (int64_t j = 0; j < n; ++j) dx[j] = y[j] > T(0) ? dy[j] : T(0); break;
    case SOFTSIGN:
      for (int64_t j = 0; j < n; ++j) { T a = T(1) - std::abs(y[j]); dx[j] = dy[j] * a * a; }
      break;
    default: if (dx != dy) std::memcpy(dx, dy, sizeof(T) * n); break;  // LINEAR
  }
}

// Zoneout (Krueger et al. 2016) of one row's state: with a training `keep` mask (nonzero keeps
// the previous value) or, without one, the eval-mode expectation z * prev + (1 - z) * fresh.
// `next` may alias `fresh`.
template <typename T>
static LSTMKIT_INLINE void zoneout_row(const uint8_t* keep, double z, const T* prev, const T* fresh, T* next,
                                       int64_t n) {
  if (keep) {
    for (int64_t j = 0; j < n; ++j) next[j] = keep[j] ? prev[j] : fresh[j];
  } else if (z > 0) {
    for (int64_t j = 0; j < n; ++j) next[j] = T(z) * prev[j] + T(1 - z) * fresh[j];
  } else if (next != fresh) {
    std::memcpy(next, fresh, sizeof(T) * n);
  }
}

// Its backward: the gradient d reaching `next` splits into d_fresh and d_prev (both written).
template <typename T>
static LSTMKIT_INLINE void zoneout_row_backward(const uint8_t* keep, double z, const T* d, T* d_fresh, T* d_prev,
                                                int64_t n) {
  if (keep) {
    for (int64_t j = 0; j < n; ++j) { d_fresh[j] = keep[j] ? T(0) : d[j]; d_prev[j] = keep[j] ? d[j] : T(0); }
  } else if (z > 0) {
    for (int64_t j = 0; j < n; ++j) { d_fresh[j] = T(1 - z) * d[j]; d_prev[j] = T(z) * d[j]; }
  } else {
    std::memcpy(d_fresh, d, sizeof(T) * n);
    std::fill_n(d_prev, n, T(0));
  }
}

// zoneout_row / zoneout_row_backward as ISA clones for the kernels' step loops (rows.cpp).
void zoneout(const uint8_t* keep, double z, const float* prev, const float* fresh, float* next, int64_t n);
void zoneout(const uint8_t* keep, double z, const double* prev, const double* fresh, double* next, int64_t n);
void zoneout_backward(const uint8_t* keep, double z, const float* d, float* d_fresh, float* d_prev, int64_t n);
void zoneout_backward(const uint8_t* keep, double z, const double* d, double* d_fresh, double* d_prev, int64_t n);
// rows x (rows, G) float32 rounded to bfloat16 into y, their column sums added to acc (G) (rows.cpp).
void narrow_rows(const float* x, uint16_t* y, float* acc, int64_t rows, int64_t G);

// Row sums in 16 lanes, then across them: one vector add per 16 elements on any ISA clone, and
// the same summation order (so the same bits) on all of them.
constexpr int kLanes = 16;
template <typename T> static LSTMKIT_INLINE T fold_lanes(T* acc) {  // a tree: 4 levels, not 16 dependent adds
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// Layer norm of one row: writes xhat = (x - mean) * rstd and returns rstd. The variance is
// taken around the mean (two passes), so float keeps ~1e-6 relative.
template <typename T>
static LSTMKIT_INLINE T layer_norm_row(const T* __restrict x, T* __restrict xhat, int64_t n, double eps) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[j + l];
  T sum = fold_lanes(acc);
  for (; j < n; ++j) sum += x[j];
  const T m = sum / T(n);
  T sqa[kLanes] = {};
  for (j = 0; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) { const T d = x[j + l] - m; sqa[l] += d * d; }
  T sq = fold_lanes(sqa);
  for (; j < n; ++j) { const T d = x[j] - m; sq += d * d; }
  const T rstd = T(1.0 / std::sqrt(double(sq) / n + eps));
  for (j = 0; j < n; ++j) xhat[j] = (x[j] - m) * rstd;
  return rstd;
}

// Backward of y = xhat * w + b for one row: accumulates dw, db and writes dx (dx may alias dy;
// dw and db alias nothing else, which the first loop's restrict pointers tell the compiler).
template <typename T>
static LSTMKIT_INLINE void layer_norm_sums_backward(const T* __restrict dy, const T* __restrict xhat,
                                                    const T* __restrict w, T* __restrict dw, T* __restrict db,
                                                    int64_t n, T& s1, T& s2) {
  T a1[kLanes] = {}, a2[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const T d = dy[j + l], x = xhat[j + l], g = d * w[j + l];
      a1[l] += g;
      a2[l] += g * x;
      dw[j + l] += d * x;
      db[j + l] += d;
    }
  s1 = fold_lanes(a1);
  s2 = fold_lanes(a2);
  for (; j < n; ++j) {
    const T d = dy[j], x = xhat[j], g = d * w[j];
    s1 += g;
    s2 += g * x;
    dw[j] += d * x;
    db[j] += d;
  }
}
template <typename T>
static LSTMKIT_INLINE void layer_norm_row_backward(const T* dy, const T* xhat, T rstd, const T* w, T* dw, T* db, T* dx,
                                           int64_t n) {
  T s1, s2;
  layer_norm_sums_backward<T>(dy, xhat, w, dw, db, n, s1, s2);
  int64_t j;
  const T m1 = T(s1 / n), m2 = T(s2 / n);
  for (j = 0; j < n; ++j) dx[j] = rstd * (dy[j] * w[j] - m1 - xhat[j] * m2);
}

// C (M x N, row-major, ldc) = alpha * op(A) op(B) + beta * C, op = transpose when the flag is set.
template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc);

// An uninitialised tensor whose memory is recycled across calls (pool.cpp).
at::Tensor pool_empty(at::IntArrayRef shape, const at::TensorOptions& opts);
// x rounded to bfloat16 in recycled memory (pool.cpp).
at::Tensor pooled_bf16(const at::Tensor& x);
// The same for a float32 gradient, with its column sums (pool.cpp).
std::pair<at::Tensor, at::Tensor> pooled_bf16_colsum(const at::Tensor& x);

// Whether an optional argument was given (None and empty tensors both mean "absent").
static inline bool present(const c10::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() && t->numel() > 0;
}

// Raw pointer of an optional tensor, nullptr when absent or empty.
template <typename T> static inline T* opt_ptr(const c10::optional<at::Tensor>& t) {
  return (t.has_value() && t->defined() && t->numel() > 0) ? t->data_ptr<T>() : nullptr;
}
static inline const uint8_t* opt_mask(const c10::optional<at::Tensor>& t) {
  return (t.has_value() && t->defined() && t->numel() > 0) ? t->data_ptr<uint8_t>() : nullptr;
}
// An optional argument the kernel will index as `expected` contiguous elements: refuse any other
// size (or a non-contiguous one) before a pointer is taken, instead of reading out of bounds.
static inline void check_numel(const c10::optional<at::Tensor>& t, int64_t expected, const char* what,
                               const char* kernel) {
  if (!(t.has_value() && t->defined() && t->numel() > 0)) return;
  TORCH_CHECK(t->numel() == expected, "lstmkit fused ", kernel, ": ", what, " has ", t->numel(),
              " elements, expected ", expected);
  TORCH_CHECK(t->is_contiguous(), "lstmkit fused ", kernel, ": ", what, " must be contiguous");
}
static inline void check_numel(const at::Tensor& t, int64_t expected, const char* what, const char* kernel) {
  check_numel(c10::optional<at::Tensor>(t), expected, what, kernel);
}

// Whether batch row b is masked out at step t (a step the sequence does not have).
static inline bool row_masked(const uint8_t* mask, int64_t t, int64_t B, int64_t b) {
  return mask && !mask[t * B + b];
}

// A tensor's data, or nullptr for the empty tensor that stands for "absent".
template <typename T> T* ptr(const at::Tensor& t) { return t.numel() ? t.data_ptr<T>() : nullptr; }

static inline at::Tensor none_tensor(const at::Tensor& like) { return at::empty({0}, like.options()); }

}  // namespace lstmkit

namespace lstmkit {

// A GEMM right-hand operand prepared once and reused for every time step of a call: on AVX-512
// CPUs packed for lstmkit's microkernel (microkernel.cpp), else with MKL packed into MKL's own
// layout (cblas_sgemm_pack) so the per-step call skips re-packing, else just remembered.
struct PackedB {
  bool tb = false;
  int64_t N = 0, K = 0, ldb = 0;
  const float* raw = nullptr;
  float* packed = nullptr;  // owned: microkernel panels or MKL's layout; nullptr when neither
  bool micro = false;       // packed for lstmkit's AVX-512 microkernel
  uint16_t* packed16 = nullptr;  // owned: bfloat16 panels for the AVX512-BF16 microkernel
  PackedB() = default;
  PackedB(const PackedB&) = delete;
  PackedB& operator=(const PackedB&) = delete;
  ~PackedB();
};

// op(B) is (K x N): B is (N x K) with ldb when tb, else (K x N). M is the row count of the
// left operands the packed weight will meet (MKL picks its panels for it).
// bf16: pack for the bfloat16 microkernel where the CPU has AVX512-BF16 (else as fp32).
void pack_b(PackedB& p, bool tb, int64_t M, int64_t N, int64_t K, const float* B, int64_t ldb, bool bf16 = false);
// C (M x N, ldc) = A (M x K, lda) op(B) + beta * C.
void gemm_packed(const PackedB& p, int64_t M, const float* A, int64_t lda, float beta, float* C, int64_t ldc);

}  // namespace lstmkit

namespace lstmkit {

// A weight used once per time step: packed once per call for float32 (PackedB), plain GEMM for
// float64 (the gradcheck path). run() computes C = A op(W) + beta C.
template <typename T> struct StepWeight {
  PackedB pb;
  const T* W = nullptr;
  bool tb = false;
  int64_t N = 0, K = 0, ld = 0;
  StepWeight(bool tb_, int64_t M, int64_t N_, int64_t K_, const T* W_, int64_t ld_, bool bf16 = false)
      : W(W_), tb(tb_), N(N_), K(K_), ld(ld_) {
    if constexpr (std::is_same<T, float>::value) {
      if (W) pack_b(pb, tb, M, N, K, W, ld, bf16);
    }
  }
  void run(int64_t M, const T* A, int64_t lda, T beta, T* C, int64_t ldc) const {
    if constexpr (std::is_same<T, float>::value) {
      gemm_packed(pb, M, A, lda, beta, C, ldc);
    } else {
      gemm<T>(false, tb, M, N, K, T(1), A, lda, W, ld, beta, C, ldc);
    }
  }
};

}  // namespace lstmkit

namespace lstmkit {

// Batch rows never meet in a recurrence (only in the weight gradients, formed afterwards), so
// threads split the batch and each runs every step for its own rows: no barrier per step, and
// the BLAS calls inside the parallel region stay on their own thread.
constexpr int64_t kMinSliceRows = 8;

inline int64_t num_slices(int64_t B) {
  if (at::in_parallel_region()) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B / kMinSliceRows));
}

template <typename F> void over_slices(int64_t B, int64_t n, const F& f) {  // f(slice, b0, b1)
  if (n == 1) return f(int64_t(0), int64_t(0), B);
  at::parallel_for(0, n, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) f(s, s * B / n, (s + 1) * B / n);
  });
}

}  // namespace lstmkit
