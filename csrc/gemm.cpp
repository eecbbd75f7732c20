// The one GEMM entry point of the fused kernels. With MKL (which libtorch_cpu carries on x86-64
// builds) it calls BLAS directly: an ATen matmul costs a dispatcher round trip and a tensor
// allocation per call, which at B=32, H=64 is as much as the arithmetic. Elsewhere it falls back
// to at::addmm_out on borrowed memory.
#include "common.h"

#ifdef LSTMKIT_USE_MKL
// libtorch_cpu exports MKL's Fortran BLAS (sgemm_/dgemm_), not the cblas_ wrappers.
extern "C" {
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
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

}  // namespace lstmkit
