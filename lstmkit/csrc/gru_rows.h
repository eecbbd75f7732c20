// Row kernels of the fused GRU (gru.cpp): one batch row of one time step, forward and
// backward, for the reset-after form (torch / cuDNN) and the reset-before form (Cho et al.,
// "gru_cho"), which splits each step around its n-gate GEMM. In their own namespace: the LSTM
// has row kernels and a Layout of the same names (lstm_rows.h).
#pragma once

#include "gru_args.h"

namespace lstmkit {
namespace gru_rows {

// One layer-direction: sizes, where the reset gate acts, the activations.
struct Layout {
  int64_t T, B, H;
  bool cho;  // reset-before (Cho et al.): n = act(x_n + U_n (r * h_in) + b_n)
  int64_t gate_act, act;
};

inline Layout make_layout(const at::Tensor& gx, const at::Tensor& h0, const GruConfig& cfg) {
  Layout L{gx.size(0), gx.size(1), h0.size(1), !cfg.reset_after, cfg.gate_act, cfg.act};
  TORCH_CHECK(gx.size(2) == 3 * L.H, "lstmkit fused GRU: gx has ", gx.size(2), " columns, expected ", 3 * L.H);
  TORCH_CHECK(h0.size(0) == L.B, "lstmkit fused GRU: h0 has ", h0.size(0), " rows, expected ", L.B);
  return L;
}

// Per-row forward pointers (one batch row of one step).
template <typename T> struct FwdRow {
  const T* x;       // (3H) input projection r|z|n
  T* g;             // (3H) out: activations r|z|n
  T* gh;            // (3H) recurrent GEMM outputs in, recurrent terms (after LN / bias) out
  const T* hprev;   // (H)
  const T* hin;     // (H) hprev * recurrent-dropout mask (== hprev without one)
  T* aux;           // (H) out, kept for backward: U_n h_in + b_n (reset-after) or r * h_in (reset-before)
  T* hnew;          // (H) out: the new state before zoneout
  T* xhat;          // (3H) layer-norm of each gate's recurrent term, or nullptr
  T* rstd;          // (3) or nullptr
  const T* bias;    // (3H) b_hh without layer norm, or nullptr
  const T* lnw;     // (3H) layer-norm gain / shift (the shift includes b_hh), or nullptr
  const T* lnb;
};

// gh[k] := LN(gh[k]) * w_k + b_k, or gh[k] + b_k, for gates k in [k0, k1).
template <typename T>
static LSTMKIT_INLINE void recurrent_terms(const FwdRow<T>& r, int64_t H, int64_t k0, int64_t k1, double eps) {
  for (int64_t k = k0; k < k1; ++k) {
    T* v = r.gh + k * H;
    if (r.xhat) {
      T* xh = r.xhat + k * H;
      r.rstd[k] = layer_norm_row<T>(v, xh, H, eps);
      const T* w = r.lnw + k * H;
      const T* b = r.lnb + k * H;
      for (int64_t j = 0; j < H; ++j) v[j] = xh[j] * w[j] + b[j];
    } else if (r.bias) {
      const T* b = r.bias + k * H;
      for (int64_t j = 0; j < H; ++j) v[j] += b[j];
    }
  }
}

// Input layer norm of one row, gate by gate: x := LN(raw[k]) * w_k + b_k (xhat, rstd kept).
template <typename T>
static LSTMKIT_INLINE void input_norm_row(const T* raw, T* x, T* xhat, T* rstd, const T* w, const T* b, int64_t H,
                                          double eps) {
  for (int64_t k = 0; k < 3; ++k) {
    const int64_t o = k * H;
    rstd[k] = layer_norm_row<T>(raw + o, xhat + o, H, eps);
    for (int64_t j = 0; j < H; ++j) x[o + j] = xhat[o + j] * w[o + j] + b[o + j];
  }
}
LSTMKIT_CLONES static void input_norm(const float* raw, float* x, float* xhat, float* rstd, const float* w,
                                      const float* b, int64_t H, double eps) {
  input_norm_row<float>(raw, x, xhat, rstd, w, b, H, eps);
}
static void input_norm(const double* raw, double* x, double* xhat, double* rstd, const double* w, const double* b,
                       int64_t H, double eps) {
  input_norm_row<double>(raw, x, xhat, rstd, w, b, H, eps);
}

// Its backward, in place: dx (the gradient of the normalised row) becomes that of the raw row.
template <typename T>
static LSTMKIT_INLINE void input_norm_backward_row(T* dx, const T* xhat, const T* rstd, const T* w, T* dw, T* db,
                                                   int64_t H) {
  for (int64_t k = 0; k < 3; ++k) {
    const int64_t o = k * H;
    layer_norm_row_backward<T>(dx + o, xhat + o, rstd[k], w + o, dw + o, db + o, dx + o, H);
  }
}
LSTMKIT_CLONES static void input_norm_backward(float* dx, const float* xhat, const float* rstd, const float* w,
                                               float* dw, float* db, int64_t H) {
  input_norm_backward_row<float>(dx, xhat, rstd, w, dw, db, H);
}
static void input_norm_backward(double* dx, const double* xhat, const double* rstd, const double* w, double* dw,
                                double* db, int64_t H) {
  input_norm_backward_row<double>(dx, xhat, rstd, w, dw, db, H);
}

// h_new = (1 - z) * n + z * h_prev.
template <typename T> static LSTMKIT_INLINE void blend(const T* z, const T* n, const T* hprev, T* hnew, int64_t H) {
  for (int64_t j = 0; j < H; ++j) hnew[j] = (T(1) - z[j]) * n[j] + z[j] * hprev[j];
}

// Reset-after (torch / cuDNN): r, z = act(x + U h_in + b); n = act(x_n + r * (U_n h_in + b_n)).
template <typename T> static LSTMKIT_INLINE void forward_after_impl(const Layout& L, const FwdRow<T>& r, double eps) {
  const int64_t H = L.H;
  recurrent_terms<T>(r, H, 0, 3, eps);
  T* g = r.g;
  const T* gh = r.gh;
  for (int64_t j = 0; j < 2 * H; ++j) g[j] = r.x[j] + gh[j];
  act_forward<T>(L.gate_act, g, g, 2 * H);
  T* n = g + 2 * H;
  const T* hn = gh + 2 * H;
  for (int64_t j = 0; j < H; ++j) n[j] = r.x[2 * H + j] + g[j] * hn[j];
  act_forward<T>(L.act, n, n, H);
  if (r.aux) std::memcpy(r.aux, hn, sizeof(T) * H);
  blend<T>(g + H, n, r.hprev, r.hnew, H);
}

// Reset-before, first half: r, z and q = r * h_in, the input of the n-gate GEMM.
template <typename T> static LSTMKIT_INLINE void forward_cho_rz_impl(const Layout& L, const FwdRow<T>& r, double eps) {
  const int64_t H = L.H;
  recurrent_terms<T>(r, H, 0, 2, eps);
  T* g = r.g;
  for (int64_t j = 0; j < 2 * H; ++j) g[j] = r.x[j] + r.gh[j];
  act_forward<T>(L.gate_act, g, g, 2 * H);
  for (int64_t j = 0; j < H; ++j) r.aux[j] = g[j] * r.hin[j];
}

// Reset-before, second half: n = act(x_n + U_n q + b_n), then the new state.
template <typename T> static LSTMKIT_INLINE void forward_cho_n_impl(const Layout& L, const FwdRow<T>& r, double eps) {
  const int64_t H = L.H;
  recurrent_terms<T>(r, H, 2, 3, eps);
  T* n = r.g + 2 * H;
  const T* hn = r.gh + 2 * H;
  for (int64_t j = 0; j < H; ++j) n[j] = r.x[2 * H + j] + hn[j];
  act_forward<T>(L.act, n, n, H);
  blend<T>(r.g + H, n, r.hprev, r.hnew, H);
}

// The row kernels of one step, by phase: reset-after does all in one; reset-before splits
// around its n-gate GEMM.
enum Phase : int { AFTER = 0, CHO_RZ = 1, CHO_N = 2 };

template <typename T> static LSTMKIT_INLINE void forward_row_impl(const Layout& L, const FwdRow<T>& r, int phase,
                                                                  double eps) {
  if (phase == AFTER) forward_after_impl<T>(L, r, eps);
  else if (phase == CHO_RZ) forward_cho_rz_impl<T>(L, r, eps);
  else forward_cho_n_impl<T>(L, r, eps);
}
LSTMKIT_CLONES static void forward_row(const Layout& L, const FwdRow<float>& r, int phase, double eps) {
  forward_row_impl<float>(L, r, phase, eps);
}
static void forward_row(const Layout& L, const FwdRow<double>& r, int phase, double eps) {
  forward_row_impl<double>(L, r, phase, eps);
}

// Per-row backward pointers. Gradients flow from the fresh state h_new (after zoneout) into
// the gate pre-activations (= the gradient of gx) and the recurrent GEMM outputs.
template <typename T> struct BwdRow {
  const T* g;       // (3H) saved activations r|z|n
  const T* hprev;   // (H)
  const T* aux;     // (H) saved U_n h_in + b_n (reset-after), unused for reset-before
  const T* rm;      // (H) recurrent-dropout mask row, or nullptr
  const T* dhnew;   // (H) gradient reaching h_new
  T* dhprev;        // (H) adds the direct path z * dh_new
  T* dx;            // (3H) out: gradient of the input projection r|z|n
  T* dgh;           // (3H) out: gradient of the recurrent GEMM outputs (before layer norm)
  const T* dq;      // (H) reset-before: gradient reaching q = r * h_in
  T* dhin;          // (H) reset-before: receives dq * r (added when dhin_add, else written)
  bool dhin_add;
  const T* xhat;    // (3H) or nullptr
  const T* rstd;    // (3)
  const T* lnw;     // (3H) or nullptr
  T* dlnw;          // (3H) accumulated over this thread's rows (layer norm), or nullptr
  T* dlnb;
  T* dbias;         // (3H) accumulated b_hh gradient (no layer norm, with bias), or nullptr
};

// Back through the recurrent terms of gates [k0, k1): layer norm in place in dgh, or the bias.
template <typename T>
static LSTMKIT_INLINE void recurrent_terms_backward(const BwdRow<T>& r, int64_t H, int64_t k0, int64_t k1) {
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t o = k * H;
    if (r.xhat) {
      layer_norm_row_backward<T>(r.dgh + o, r.xhat + o, r.rstd[k], r.lnw + o, r.dlnw + o, r.dlnb + o, r.dgh + o, H);
    } else if (r.dbias) {
      for (int64_t j = 0; j < H; ++j) r.dbias[o + j] += r.dgh[o + j];
    }
  }
}

// h_new = (1 - z) n + z h_prev, n = act(a_n): writes dz (before the gate activation's
// derivative), da_n, and adds z * dh_new to dh_prev.
template <typename T> static LSTMKIT_INLINE void blend_backward(const Layout& L, const BwdRow<T>& r) {
  const int64_t H = L.H;
  const T* z = r.g + H;
  const T* n = r.g + 2 * H;
  T* dz = r.dx + H;
  T* dn = r.dx + 2 * H;
  for (int64_t j = 0; j < H; ++j) {
    const T d = r.dhnew[j];
    dz[j] = d * (r.hprev[j] - n[j]);
    dn[j] = d * (T(1) - z[j]);
    r.dhprev[j] += d * z[j];
  }
  act_backward<T>(L.act, n, dn, dn, H);
}

// Reset-after: a_n = x_n + r * hn, with hn = U_n h_in + b_n saved by the forward pass.
template <typename T> static LSTMKIT_INLINE void backward_after_impl(const Layout& L, const BwdRow<T>& r) {
  const int64_t H = L.H;
  blend_backward<T>(L, r);
  const T* rg = r.g;
  T* dr = r.dx;
  const T* dn = r.dx + 2 * H;
  T* dhn = r.dgh + 2 * H;
  // a_n = x_n + r * hn: dr = da_n * hn, dhn = da_n * r.
  for (int64_t j = 0; j < H; ++j) { dr[j] = dn[j] * r.aux[j]; dhn[j] = dn[j] * rg[j]; }
  act_backward<T>(L.gate_act, rg, dr, dr, 2 * H);  // r and z blocks are contiguous
  std::memcpy(r.dgh, r.dx, sizeof(T) * 2 * H);
  recurrent_terms_backward<T>(r, H, 0, 3);
}

// Reset-before, first half of the backward step (before the n-gate GEMM to dq).
template <typename T> static LSTMKIT_INLINE void backward_cho_n_impl(const Layout& L, const BwdRow<T>& r) {
  const int64_t H = L.H;
  blend_backward<T>(L, r);
  std::memcpy(r.dgh + 2 * H, r.dx + 2 * H, sizeof(T) * H);
  recurrent_terms_backward<T>(r, H, 2, 3);
}

// Reset-before, second half: q = r * h_in gives dr = dq * h_in and dh_in = dq * r.
template <typename T> static LSTMKIT_INLINE void backward_cho_rz_impl(const Layout& L, const BwdRow<T>& r) {
  const int64_t H = L.H;
  const T* rg = r.g;
  T* dr = r.dx;
  if (r.rm) for (int64_t j = 0; j < H; ++j) dr[j] = r.dq[j] * r.hprev[j] * r.rm[j];
  else for (int64_t j = 0; j < H; ++j) dr[j] = r.dq[j] * r.hprev[j];
  if (r.dhin_add) for (int64_t j = 0; j < H; ++j) r.dhin[j] += r.dq[j] * rg[j];
  else for (int64_t j = 0; j < H; ++j) r.dhin[j] = r.dq[j] * rg[j];
  act_backward<T>(L.gate_act, rg, dr, dr, 2 * H);
  std::memcpy(r.dgh, r.dx, sizeof(T) * 2 * H);
  recurrent_terms_backward<T>(r, H, 0, 2);
}

template <typename T> static LSTMKIT_INLINE void backward_row_impl(const Layout& L, const BwdRow<T>& r, int phase) {
  if (phase == AFTER) backward_after_impl<T>(L, r);
  else if (phase == CHO_N) backward_cho_n_impl<T>(L, r);
  else backward_cho_rz_impl<T>(L, r);
}
LSTMKIT_CLONES static void backward_row(const Layout& L, const BwdRow<float>& r, int phase) {
  backward_row_impl<float>(L, r, phase);
}
static void backward_row(const Layout& L, const BwdRow<double>& r, int phase) { backward_row_impl<double>(L, r, phase); }

}  // namespace gru_rows
}  // namespace lstmkit
