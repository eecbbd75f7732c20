// Zoneout keep masks from a counter-based hash (see lstmkit/kernels/masks.py, its reference):
// element i of a (T, B, W) mask keeps its previous value iff hash(i, seed) >> 8 < z * 2^24.
// The hash is two xorshift-multiply rounds in uint32 lanes; the multipliers stay below 2^31 so
// that torch can compute the same bits in int64.
#include "common.h"

#include <torch/library.h>

namespace lstmkit {
namespace {

constexpr uint32_t kC1 = 0x7FEB352Du, kC2 = 0x2C1B3C6Du;

LSTMKIT_INLINE uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= kC1;
  x ^= x >> 15;
  x *= kC2;
  return x ^ (x >> 16);
}

LSTMKIT_CLONES void keep_range(int64_t i0, int64_t i1, uint32_t s0, uint32_t s1, uint32_t threshold, uint8_t* out) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const uint64_t u = static_cast<uint64_t>(i);
    uint32_t x = mix(static_cast<uint32_t>(u) ^ s0);
    x = mix(x ^ static_cast<uint32_t>(u >> 32) ^ s1);
    out[i] = (x >> 8) < threshold;
  }
}

}  // namespace

at::Tensor zoneout_keep(int64_t s0, int64_t s1, at::IntArrayRef shape, double z) {
  TORCH_CHECK(z >= 0.0 && z < 1.0, "zoneout rate must be in [0, 1), got ", z);
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(at::kBool));
  const uint32_t threshold = static_cast<uint32_t>(static_cast<int64_t>(z * 16777216.0));
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data_ptr<bool>());
  at::parallel_for(0, out.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    keep_range(i0, i1, static_cast<uint32_t>(s0), static_cast<uint32_t>(s1), threshold, p);
  });
  return out;
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("zoneout_keep(int seed0, int seed1, int[] shape, float rate) -> Tensor", &lstmkit::zoneout_keep);
}
