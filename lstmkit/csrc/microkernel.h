// A register-tiled AVX-512 GEMM for the per-step recurrent products, on weights packed once
// per call. See microkernel.cpp.
#pragma once

#include <cstdint>

namespace lstmkit {

// Whether this CPU runs the AVX-512 kernel (checked once, at run time; LSTMKIT_DISABLE_AVX512=1
// in the environment turns it off, for testing the portable path).
bool microkernel_available();
bool microkernel_disabled();

// Floats needed to pack a (K x N) operand: 16-column panels, K rows each.
int64_t microkernel_packed_size(int64_t N, int64_t K);

// Pack op(B) (K x N; B is (N x K) with ldb when tb, else (K x N)) into panels; dest 64-byte aligned.
void microkernel_pack(bool tb, int64_t N, int64_t K, const float* B, int64_t ldb, float* dest);

// C (M x N, ldc) = A (M x K, lda) * packed (+ C when accumulate).
void microkernel_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* packed, float* C,
                      int64_t ldc, bool accumulate);

}  // namespace lstmkit

namespace lstmkit {

// The same tiling on bfloat16 pairs (AVX512-BF16 vdpbf16ps: two products per lane per
// instruction, float32 accumulation), for matmul_precision="bf16". Packed size in uint16s.
bool microkernel_bf16_available();
int64_t microkernel_bf16_packed_size(int64_t N, int64_t K);
void microkernel_bf16_pack(bool tb, int64_t N, int64_t K, const float* B, int64_t ldb, uint16_t* dest);
// A is float32; its rows are rounded to bfloat16 on the way in.
void microkernel_bf16_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* packed,
                           float* C, int64_t ldc, bool accumulate);

}  // namespace lstmkit
