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

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("pooled_linear", &lstmkit::pooled_linear);
  m.def("pooled_mm", &lstmkit::pooled_mm);
}
