// The one GEMM entry point of the fused kernels. With MKL (which libtorch_cpu carries on x86-64
// builds) it calls BLAS directly: an ATen matmul costs a dispatcher round trip and a tensor
// allocation per call, which at B=32, H=64 is as much as the arithmetic. Elsewhere it falls back
// to at::addmm_out on borrowed memory.
#include "common.h"
#include "microkernel.h"

#ifdef LSTMKIT_USE_MKL
// libtorch_cpu exports MKL's Fortran BLAS (sgemm_/dgemm_), not the cblas_ wrappers.
extern "C" {
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
size_t cblas_sgemm_pack_get_size(int identifier, int m, int n, int k);
void cblas_sgemm_pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, const float* src,
                      int ld, float* dest);
void cblas_sgemm_compute(int layout, int transa, int transb, int m, int n, int k, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
}
namespace {
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kPacked = 151, kBMatrix = 162;
}
#endif

namespace lstmkit {

#ifdef LSTMKIT_USE_MKL
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const char ca = ta ? 'T' : 'N', cb = tb ? 'T' : 'N';
  const int m = (int)M, n = (int)N, k = (int)K, la = (int)lda, lb = (int)ldb, lc = (int)ldc;
  sgemm_(&cb, &ca, &n, &m, &k, &alpha, B, &lb, A, &la, &beta, C, &lc);
}
template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const char ca = ta ? 'T' : 'N', cb = tb ? 'T' : 'N';
  const int m = (int)M, n = (int)N, k = (int)K, la = (int)lda, lb = (int)ldb, lc = (int)ldc;
  dgemm_(&cb, &ca, &n, &m, &k, &alpha, B, &lb, A, &la, &beta, C, &lc);
}
#else
template <typename T>
static void gemm_aten(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                      const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
  at::Tensor a = ta ? at::from_blob(const_cast<T*>(A), {K, M}, {lda, 1}, opts).t()
                    : at::from_blob(const_cast<T*>(A), {M, K}, {lda, 1}, opts);
  at::Tensor b = tb ? at::from_blob(const_cast<T*>(B), {N, K}, {ldb, 1}, opts).t()
                    : at::from_blob(const_cast<T*>(B), {K, N}, {ldb, 1}, opts);
  at::Tensor c = at::from_blob(C, {M, N}, {ldc, 1}, opts);
  if (beta == T(0)) c.zero_();
  at::addmm_out(c, c, a, b, beta, alpha);
}
template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_aten<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_aten<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

PackedB::~PackedB() {
  std::free(packed);
  std::free(packed16);
}

void pack_b(PackedB& p, bool tb, int64_t M, int64_t N, int64_t K, const float* B, int64_t ldb, bool bf16) {
  p.tb = tb;
  p.N = N;
  p.K = K;
  p.ldb = ldb;
  p.raw = B;
  if (M == 0 || N == 0 || K == 0) return;
  if (bf16 && microkernel_bf16_available()) {
    const int64_t n16 = microkernel_bf16_packed_size(N, K);
    p.packed16 = static_cast<uint16_t*>(std::aligned_alloc(64, (n16 * sizeof(uint16_t) + 63) / 64 * 64));
    TORCH_CHECK(p.packed16 != nullptr, "lstmkit: out of memory packing a weight matrix");
    microkernel_bf16_pack(tb, N, K, B, ldb, p.packed16);
    return;
  }
  if (microkernel_available()) {
    const int64_t floats = microkernel_packed_size(N, K);
    std::free(p.packed);
    p.packed = static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
    TORCH_CHECK(p.packed != nullptr, "lstmkit: out of memory packing a weight matrix");
    microkernel_pack(tb, N, K, B, ldb, p.packed);
    p.micro = true;
    return;
  }
#ifdef LSTMKIT_USE_MKL
  const size_t bytes = cblas_sgemm_pack_get_size(kBMatrix, (int)M, (int)N, (int)K);
  std::free(p.packed);
  p.packed = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  TORCH_CHECK(p.packed != nullptr, "lstmkit: out of memory packing a weight matrix (", bytes, " bytes)");
  cblas_sgemm_pack(kRowMajor, kBMatrix, tb ? kTrans : kNoTrans, (int)M, (int)N, (int)K, 1.f, B, (int)ldb, p.packed);
#else
  (void)M;
#endif
}

void gemm_packed(const PackedB& p, int64_t M, const float* A, int64_t lda, float beta, float* C, int64_t ldc) {
  if (M == 0 || p.N == 0) return;
  if (p.packed16) {
    microkernel_bf16_gemm(M, p.N, p.K, A, lda, p.packed16, C, ldc, beta != 0.f);
    return;
  }
  if (p.micro) {
    microkernel_gemm(M, p.N, p.K, A, lda, p.packed, C, ldc, beta != 0.f);
    return;
  }
#ifdef LSTMKIT_USE_MKL
  if (p.packed) {
    cblas_sgemm_compute(kRowMajor, kNoTrans, kPacked, (int)M, (int)p.N, (int)p.K, A, (int)lda, p.packed,
                        (int)p.N, beta, C, (int)ldc);
    return;
  }
#endif
  gemm<float>(false, p.tb, M, p.N, p.K, 1.f, A, lda, p.raw, p.ldb, beta, C, ldc);
}

}  // namespace lstmkit
