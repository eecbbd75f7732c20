// The threaded path of the fused LSTM: one OpenMP parallel region across all time steps, each
// thread owning a slice of the hidden units for every gate.
//
// At B=32, H=64 a step's GEMM is ~1 MFLOP, so waking a thread pool per step (or letting BLAS
// split each small GEMM) costs as much as it saves. Here the team is formed once per call: per
// step each thread computes the recurrent GEMM columns of its own units (one call per gate
// block), runs the pointwise row kernel on them, writes its part of h and c, and meets the
// others at one barrier (the next GEMM needs all of h). The backward pass is the mirror image:
// pointwise on its own units, a barrier (the GEMM to dh needs every gate's gradient), then the
// columns of dh it owns. Parameter gradients land in disjoint unit ranges, so nothing races.
//
// Used for float32 without layer norm, full gate recurrence or projection (those need whole-row
// reductions or a second GEMM per step; they run on the serial path in lstm.cpp).
#include "lstm_team.h"

#include <omp.h>

#include <vector>

namespace lstmkit {

namespace {
// Units [u0, u1) of thread j of nt: chunks of whole 16-float vectors.
void unit_range(int64_t H, int nt, int j, int64_t& u0, int64_t& u1) {
  const int64_t per = ((H + nt - 1) / nt + 15) / 16 * 16;
  u0 = std::min<int64_t>(H, j * per);
  u1 = std::min<int64_t>(H, u0 + per);
}
}  // namespace

bool team_eligible(const Layout& L) {
  // Batches of 16 rows or more split their rows across threads instead (see num_slices).
  return !L.ln && !L.ln_ih && !L.fgr && !L.proj && L.H >= 32 && L.B < 2 * kMinSliceRows && at::get_num_threads() > 1 &&
         !omp_in_parallel();
}

void team_forward(const Layout& L, const TeamFwd& a) {
  const int64_t B = L.B, H = L.H, R = L.R, GH = L.G * L.H;
  const int nt = std::min<int>(at::get_num_threads(), (int)((H + 15) / 16));
  std::vector<float> hin_bufs(a.rmask ? 2 * B * R : 0);
#pragma omp parallel num_threads(nt)
  {
    int64_t u0, u1;
    unit_range(H, omp_get_num_threads(), omp_get_thread_num(), u0, u1);
    const int64_t n = u1 - u0;
    float* hin_b[2] = {hin_bufs.data(), hin_bufs.data() + B * R};
    std::vector<PackedB> w(L.G);  // this thread's columns of each gate block of W_hh^T, packed once
    if (n > 0)
      for (int64_t k = 0; k < L.G; ++k) pack_b(w[k], true, B, n, R, a.w_hh + (k * H + u0) * R, R);
    if (a.rmask && n > 0)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = u0; j < u1; ++j) hin_b[0][b * R + j] = a.hs[b * R + j] * a.rmask[b * R + j];
#pragma omp barrier
    for (int64_t t = 0; t < L.T; ++t) {
      float* G = a.gates + t * B * GH;
      const float* hprev = a.hs + t * B * R;
      const float* cprev = a.cs + t * B * H;
      float* hnext = a.hs + (t + 1) * B * R;
      float* cnext = a.cs + (t + 1) * B * H;
      float* cn = a.cnew + t * a.step_stride * B * H;
      float* yt = a.y + t * a.step_stride * B * H;
      const float* hin = a.rmask ? hin_b[t % 2] : hprev;
      if (n > 0) {
        for (int64_t k = 0; k < L.G; ++k) gemm_packed(w[k], B, hin, R, 1.f, G + k * H + u0, GH);
        for (int64_t b = 0; b < B; ++b) {
          float* hn = hnext + b * R + u0;
          float* cx = cnext + b * H + u0;
          const float* hp = hprev + b * R + u0;
          const float* cp = cprev + b * H + u0;
          float* o = a.out + (t * B + b) * R + u0;
          if (a.mask && !a.mask[t * B + b]) {
            std::memcpy(hn, hp, sizeof(float) * n);
            std::memcpy(cx, cp, sizeof(float) * n);
            std::fill_n(o, n, 0.f);
          } else {
            float* m = a.m + b * H + u0;
            FwdRow<float> r{G + b * GH + u0, cp, cn + b * H + u0, yt + b * H + u0, m, nullptr, nullptr, nullptr,
                            a.peep ? a.peep + u0 : nullptr, nullptr, nullptr};
            forward_row(L, r, n, 0.0);
            zoneout(a.keep_h ? a.keep_h + (t * B + b) * R + u0 : nullptr, a.zh, hp, m, hn, n);
            const uint8_t* kc = a.keep_c ? a.keep_c + (t * B + b) * H + u0 : nullptr;
            zoneout(kc, a.zc, cp, cn + b * H + u0, cx, n);
            std::memcpy(o, hn, sizeof(float) * n);
          }
          if (a.rmask) {
            float* hb = hin_b[(t + 1) % 2] + b * R + u0;
            const float* rm = a.rmask + b * R + u0;
            for (int64_t j = 0; j < n; ++j) hb[j] = hn[j] * rm[j];
          }
        }
      }
#pragma omp barrier
    }
  }
}

void team_backward(const Layout& L, const TeamBwd& a) {
  const int64_t T = L.T, B = L.B, H = L.H, R = L.R, GH = L.G * L.H;
  const int nt = std::min<int>(at::get_num_threads(), (int)((H + 15) / 16));
  std::vector<float> bufs(2 * B * R + 2 * B * H + B * H + B * R + B * H);
  float* dhb[2] = {bufs.data(), bufs.data() + B * R};
  float* dcb[2] = {dhb[1] + B * R, dhb[1] + B * R + B * H};
  float* dcn = dcb[1] + B * H;
  float* dhin = dcn + B * H;
  float* dhn = dhin + B * R;
  std::memcpy(dhb[0], a.dhT, sizeof(float) * B * R);
  std::memcpy(dcb[0], a.dcT, sizeof(float) * B * H);
#pragma omp parallel num_threads(nt)
  {
    int64_t u0, u1;
    unit_range(H, omp_get_num_threads(), omp_get_thread_num(), u0, u1);
    const int64_t n = u1 - u0;
    std::vector<float> tmp(std::max<int64_t>(n, 1));
    PackedB w;  // this thread's columns of W_hh, packed once
    if (n > 0) pack_b(w, false, B, n, GH, a.w_hh + u0, R);
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t s = (T - 1 - t) % 2;
      float* dh = dhb[s];
      float* dhp = dhb[1 - s];
      float* dc = dcb[s];
      float* dcp = dcb[1 - s];
      float* dG = a.dG + t * B * GH;
      const float* G = a.gates + t * B * GH;
      if (n > 0) {
        for (int64_t b = 0; b < B; ++b) {
          float* dh_b = dh + b * R + u0;
          float* dc_b = dc + b * H + u0;
          float* dpv = dhp + b * R + u0;
          float* dcpv = dcp + b * H + u0;
          if (a.mask && !a.mask[t * B + b]) {
            std::memcpy(dpv, dh_b, sizeof(float) * n);
            std::memcpy(dcpv, dc_b, sizeof(float) * n);
            for (int64_t k = 0; k < L.G; ++k) std::fill_n(dG + b * GH + k * H + u0, n, 0.f);
            continue;
          }
          if (a.dout) {
            const float* d = a.dout + (t * B + b) * R + u0;
            for (int64_t j = 0; j < n; ++j) dh_b[j] += d[j];
          }
          float* dn = dhn + b * H + u0;
          float* dcv = dcn + b * H + u0;
          const uint8_t* kh = a.keep_h ? a.keep_h + (t * B + b) * R + u0 : nullptr;
          const uint8_t* kc = a.keep_c ? a.keep_c + (t * B + b) * H + u0 : nullptr;
          zoneout_backward(kh, a.zh, dh_b, dn, dpv, n);
          zoneout_backward(kc, a.zc, dc_b, dcv, dcpv, n);
          BwdRow<float> r{G + b * GH + u0, a.cs + (t * B + b) * H + u0, a.cnew + (t * B + b) * H + u0,
                          a.y + (t * B + b) * H + u0, nullptr, 0.f, dn, dcv, nullptr, dG + b * GH + u0, dcpv,
                          a.peep ? a.peep + u0 : nullptr, a.dpeep ? a.dpeep + u0 : nullptr, nullptr, nullptr,
                          nullptr, tmp.data()};
          backward_row(L, r, n);
        }
      }
#pragma omp barrier
      if (n > 0) {
        gemm_packed(w, B, dG, GH, 0.f, dhin + u0, R);
        for (int64_t b = 0; b < B; ++b) {
          float* dpv = dhp + b * R + u0;
          const float* di = dhin + b * R + u0;
          if (a.rmask) {
            const float* rm = a.rmask + b * R + u0;
            for (int64_t j = 0; j < n; ++j) dpv[j] += di[j] * rm[j];
          } else {
            for (int64_t j = 0; j < n; ++j) dpv[j] += di[j];
          }
        }
      }
    }
  }
  const int64_t s = T % 2;  // the buffer the last step wrote its "previous" gradients into
  std::memcpy(a.dh0, dhb[s], sizeof(float) * B * R);
  std::memcpy(a.dc0, dcb[s], sizeof(float) * B * H);
}

}  // namespace lstmkit
