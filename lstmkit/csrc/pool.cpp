// A small free-list of large buffers for the kernels' per-call tensors.
//
// Each training call allocates several (T, B, ·) buffers that live until the backward pass.
// Fresh large allocations come from mmap and are returned to the system when freed, so every
// call pays a page fault (and page zeroing) per 4 KiB touched: at T=50, B=32, H=64 that was
// most of the forward pass. Buffers released here are kept (up to kPoolBytes in all) and
// handed out again to a request of similar size.
#include "common.h"

#include <map>
#include <vector>
#include <mutex>

namespace lstmkit {

namespace {
constexpr size_t kMinPooled = 64 * 1024;          // smaller requests go to the normal allocator
constexpr size_t kPoolBytes = 512ull << 20;       // most memory kept for reuse
std::mutex pool_mutex;
std::multimap<size_t, void*>& free_blocks() {
  static auto* blocks = new std::multimap<size_t, void*>();  // leaked on purpose: outlives static tensors
  return *blocks;
}
size_t pooled_bytes = 0;

void release(void* ptr, size_t capacity) {
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (pooled_bytes + capacity > kPoolBytes) {
    std::free(ptr);
    return;
  }
  free_blocks().emplace(capacity, ptr);
  pooled_bytes += capacity;
}
}  // namespace

at::Tensor pool_empty(at::IntArrayRef shape, const at::TensorOptions& opts) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  const size_t bytes = static_cast<size_t>(numel) * opts.dtype().itemsize();
  if (bytes < kMinPooled) return at::empty(shape, opts);
  void* ptr = nullptr;
  size_t capacity = 0;
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    auto& blocks = free_blocks();
    auto it = blocks.lower_bound(bytes);
    if (it != blocks.end() && it->first <= 2 * bytes) {
      capacity = it->first;
      ptr = it->second;
      blocks.erase(it);
      pooled_bytes -= capacity;
    }
  }
  if (!ptr) {
    capacity = (bytes + 4095) / 4096 * 4096;
    ptr = std::aligned_alloc(64, capacity);
    TORCH_CHECK(ptr != nullptr, "lstmkit: out of memory allocating ", capacity, " bytes");
  }
  return at::from_blob(ptr, shape, [ptr, capacity](void*) { release(ptr, capacity); }, opts);
}

}  // namespace lstmkit

#include <torch/library.h>

#include "microkernel.h"

namespace lstmkit {

// The input projection of all steps (and its backward) into recycled memory: x (N, I) W^T (+ b).
at::Tensor pooled_linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  at::Tensor out = pool_empty({x.size(0), w.size(0)}, x.options());
  const int64_t M = x.size(0), N = w.size(0), K = x.size(1);
  if (K <= 16 && x.scalar_type() == at::kFloat && microkernel_available() && x.is_contiguous() &&
      w.is_contiguous()) {
    // A handful of input features (the forecaster has one): BLAS is slow on such thin products.
    std::vector<float> packed(microkernel_packed_size(N, K) + 16);
    float* P = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(packed.data()) + 63) & ~uintptr_t(63));
    microkernel_pack(true, N, K, w.data_ptr<float>(), K, P);
    float* o = out.data_ptr<float>();
    const float* bias = (b.has_value() && b->defined()) ? b->contiguous().data_ptr<float>() : nullptr;
    const float* xp = x.data_ptr<float>();
    at::parallel_for(0, M, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (bias) std::memcpy(o + r * N, bias, sizeof(float) * N);
        else std::fill_n(o + r * N, N, 0.f);
      }
      microkernel_gemm(r1 - r0, N, K, xp + r0 * K, K, P, o + r0 * N, N, true);
    });
    return out;
  }
  if (b.has_value() && b->defined()) {
    at::addmm_out(out, *b, x, w.t());
  } else {
    at::mm_out(out, x, w.t());
  }
  return out;
}

at::Tensor pooled_mm(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor out = pool_empty({a.size(0), b.size(1)}, a.options());
  if (b.size(1) == 1) {  // a matrix-vector product: gemv, not a degenerate GEMM
    at::Tensor flat = out.view({-1});
    at::mv_out(flat, a, b.view({-1}));
    return out;
  }
  at::mm_out(out, a, b);
  return out;
}

namespace {
// Rows [r0, r1) of small_linear_backward: dx rows, and this thread's sums for dW (K, G) and db.
LSTMKIT_CLONES void small_linear_rows(int64_t r0, int64_t r1, int64_t G, int64_t K, const float* g, const float* x,
                                      const float* wt, float* dx, float* acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* gr = g + r * G;
    for (int64_t k = 0; k < K; ++k) {
      const float* wk = wt + k * G;
      float* ak = acc + k * G;
      const float xv = x[r * K + k];
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < G; ++j) {
        s += gr[j] * wk[j];
        ak[j] += gr[j] * xv;
      }
      if (dx) dx[r * K + k] = s;
    }
    float* ab = acc + K * G;
#pragma omp simd
    for (int64_t j = 0; j < G; ++j) ab[j] += gr[j];
  }
}
// dst rows = float(src rows) + bias: bfloat16 is the top half of a float32.
LSTMKIT_CLONES void widen_add_rows(int64_t r0, int64_t r1, int64_t G, const uint16_t* src, const float* bias,
                                   float* dst) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint16_t* s = src + r * G;
    float* d = dst + r * G;
#pragma omp simd
    for (int64_t j = 0; j < G; ++j) {
      const uint32_t bits = static_cast<uint32_t>(s[j]) << 16;
      float v;
      std::memcpy(&v, &bits, sizeof(v));
      d[j] = v + bias[j];
    }
  }
}
}  // namespace

// The backward of pooled_linear for a handful of input features (K <= 16): dx = g W,
// dW = g^T x and db = the column sums of g in one pass over g. As three BLAS calls each is a
// thin, memory-bound product over the whole (N, G) gradient. Returns dx (empty unless need_dx),
// dW, db.
std::tuple<at::Tensor, at::Tensor, at::Tensor> small_linear_backward(const at::Tensor& g_in, const at::Tensor& x_in,
                                                                    const at::Tensor& w, bool need_dx) {
  const at::Tensor g = g_in.contiguous(), x = x_in.contiguous();
  TORCH_CHECK(g.scalar_type() == at::kFloat && x.scalar_type() == at::kFloat, "small_linear_backward: float32 only");
  const int64_t N = g.size(0), G = g.size(1), K = x.size(1);
  const at::Tensor wt = w.t().contiguous();  // (K, G): the dot products run along G
  at::Tensor dx = need_dx ? pool_empty({N, K}, x.options()) : none_tensor(x);
  const int64_t nth = at::get_num_threads();
  at::Tensor acc = at::zeros({nth, (K + 1) * G}, x.options());
  const float *gp = g.data_ptr<float>(), *xp = x.data_ptr<float>(), *wp = wt.data_ptr<float>();
  float* dxp = need_dx ? dx.data_ptr<float>() : nullptr;
  float* accp = acc.data_ptr<float>();
  at::parallel_for(0, N, 64, [&](int64_t r0, int64_t r1) {
    small_linear_rows(r0, r1, G, K, gp, xp, wp, dxp, accp + at::get_thread_num() * (K + 1) * G);
  });
  at::Tensor total = acc.sum(0);
  return {dx, total.narrow(0, 0, K * G).view({K, G}).t().contiguous(), total.narrow(0, K * G, G)};
}

// A float32 tensor rounded to bfloat16, in recycled memory (no page faults on the fresh copy).
at::Tensor pooled_bf16(const at::Tensor& x) {
  return pool_empty(x.sizes(), x.options().dtype(at::kBFloat16)).copy_(x);
}

// pooled_bf16 of a gradient (.., G) together with its sum over all leading dimensions (the bias
// gradient), in one pass instead of two over the largest tensor of the backward pass.
std::pair<at::Tensor, at::Tensor> pooled_bf16_colsum(const at::Tensor& x_in) {
  const at::Tensor x = x_in.contiguous();
  const int64_t G = x.size(-1), N = x.numel() / G;
  at::Tensor y = pool_empty(x.sizes(), x.options().dtype(at::kBFloat16));
  at::Tensor acc = at::zeros({at::get_num_threads(), G}, x.options());
  const float* xp = x.data_ptr<float>();
  uint16_t* yp = reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>());
  float* ap = acc.data_ptr<float>();
  at::parallel_for(0, N, 64, [&](int64_t r0, int64_t r1) {
    narrow_rows(xp + r0 * G, yp + r0 * G, ap + at::get_thread_num() * G, r1 - r0, G);
  });
  return {y, acc.sum(0)};
}

// matmul_precision="bf16": x (N, I) W^T (+ b) with a bfloat16 GEMM (oneDNN, float32
// accumulation), the float32 result in recycled memory with the bias added in the same pass
// that widens it. Returns out (N, G) float32 and x in bfloat16 (kept for the weight gradient).
std::tuple<at::Tensor, at::Tensor> pooled_linear_bf16(const at::Tensor& x, const at::Tensor& w,
                                                      const c10::optional<at::Tensor>& b) {
  at::Tensor xb = pooled_bf16(x.contiguous());
  at::Tensor ob = pool_empty({x.size(0), w.size(0)}, xb.options());
  at::mm_out(ob, xb, w.to(at::kBFloat16).t());
  at::Tensor out = pool_empty({x.size(0), w.size(0)}, x.options());
  if (b.has_value() && b->defined()) {
    // at::add_out with mixed bfloat16/float32 operands takes a slow unvectorised path (10x a copy)
    const at::Tensor bias = b->contiguous();
    const int64_t G = w.size(0);
    const uint16_t* src = reinterpret_cast<const uint16_t*>(ob.data_ptr<at::BFloat16>());
    float* dst = out.data_ptr<float>();
    const float* bp = bias.data_ptr<float>();
    at::parallel_for(0, x.size(0), 64, [&](int64_t r0, int64_t r1) { widen_add_rows(r0, r1, G, src, bp, dst); });
  } else {
    out.copy_(ob);
  }
  return {out, xb};
}

// a (N, G) bfloat16 times b (G, I) float32, rounded to bfloat16 for the GEMM, widened into
// recycled float32 memory: the input gradient of pooled_linear_bf16.
at::Tensor pooled_mm_bf16(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor ob = pool_empty({a.size(0), b.size(1)}, a.options());
  at::mm_out(ob, a, b.to(at::kBFloat16));
  return pool_empty(ob.sizes(), ob.options().dtype(at::kFloat)).copy_(ob);
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("pooled_linear(Tensor x, Tensor weight, Tensor? bias) -> Tensor", &lstmkit::pooled_linear);
  m.def("pooled_mm(Tensor a, Tensor b) -> Tensor", &lstmkit::pooled_mm);
  m.def("small_linear_backward(Tensor grad, Tensor x, Tensor weight, bool need_dx) "
        "-> (Tensor d_x, Tensor d_weight, Tensor d_bias)",
        &lstmkit::small_linear_backward);
  m.def("pooled_linear_bf16(Tensor x, Tensor weight, Tensor? bias) -> (Tensor output, Tensor x_bf16)",
        &lstmkit::pooled_linear_bf16);
  m.def("pooled_mm_bf16(Tensor a, Tensor b) -> Tensor", &lstmkit::pooled_mm_bf16);
}
