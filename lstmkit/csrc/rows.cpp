// Row helpers shared by the LSTM and GRU kernels, built once here as ISA clones (common.h's
// templates inlined into a kernel's own step loop would be compiled for the baseline ISA).
#include "common.h"

namespace lstmkit {

LSTMKIT_CLONES void zoneout(const uint8_t* keep, double z, const float* prev, const float* fresh, float* next,
                            int64_t n) {
  zoneout_row<float>(keep, z, prev, fresh, next, n);
}
void zoneout(const uint8_t* keep, double z, const double* prev, const double* fresh, double* next, int64_t n) {
  zoneout_row<double>(keep, z, prev, fresh, next, n);
}
LSTMKIT_CLONES void zoneout_backward(const uint8_t* keep, double z, const float* d, float* d_fresh, float* d_prev,
                                     int64_t n) {
  zoneout_row_backward<float>(keep, z, d, d_fresh, d_prev, n);
}
void zoneout_backward(const uint8_t* keep, double z, const double* d, double* d_fresh, double* d_prev, int64_t n) {
  zoneout_row_backward<double>(keep, z, d, d_fresh, d_prev, n);
}

LSTMKIT_CLONES void narrow_rows(const float* x, uint16_t* y, float* acc, int64_t rows, int64_t G) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * G;
    uint16_t* yr = y + r * G;
#pragma omp simd
    for (int64_t j = 0; j < G; ++j) {
      uint32_t u;
      std::memcpy(&u, &xr[j], sizeof(u));
      yr[j] = static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);  // round to nearest even
      acc[j] += xr[j];
    }
  }
}

}  // namespace lstmkit
