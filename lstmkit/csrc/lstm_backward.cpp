// Fused LSTM-family recurrence on CPU, the backward pass (the forward pass: lstm.cpp).
//
// Walks time in reverse over the forward pass's saved activations: per step one pass over each
// batch row back through zoneout, the step mask, the cell update, the gate activations,
// peepholes and layer norm, then one (B, G*H) x (G*H, R) GEMM to the previous state's gradient;
// the weight gradients are single large GEMMs over all steps at the end (the haste / oneDNN
// scheme). Rows split across threads as in the forward pass (small batches: lstm_team.cpp).
#include "lstm_team.h"

#include <torch/library.h>

#include <tuple>

namespace lstmkit {
namespace {

// saved = forward's outputs [3:]: gates, cnew, y, c_states, h_states, m, xhat_hh, rstd_hh,
// xhat_c, rstd_c, a_states, xhat_ih, rstd_ih. Returns the gradients of gx, h0, c0, w_hh, peep,
// w_hr, w_fgr, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b (empty where the input was absent), then dgx
// in bfloat16 and its column sums (matmul_precision="bf16" only, else empty), then those of
// ln_ih_w, ln_ih_b (input layer norm only, else empty).
template <typename T>
std::vector<at::Tensor> backward_impl(const at::Tensor& dout_in, const at::Tensor& dhT, const at::Tensor& dcT,
                                      at::TensorList saved, const at::Tensor& w_hh,
                                      const c10::optional<at::Tensor>& peep, const c10::optional<at::Tensor>& w_hr,
                                      const c10::optional<at::Tensor>& w_fgr, const c10::optional<at::Tensor>& ln_hh_w,
                                      const c10::optional<at::Tensor>& ln_c_w,
                                      const c10::optional<at::Tensor>& ln_ih_w, const c10::optional<at::Tensor>& rmask,
                                      const c10::optional<at::Tensor>& step_mask,
                                      const c10::optional<at::Tensor>& keep_h, const c10::optional<at::Tensor>& keep_c,
                                      at::IntArrayRef cfg, at::ArrayRef<double> fcfg) {
  const at::Tensor &xhat_ih = saved[11], &rstd_ih = saved[12];
  const T* lniw = opt_ptr<T>(ln_ih_w);
  const at::Tensor &gates = saved[0], &cnew = saved[1], &y = saved[2], &cs = saved[3], &hs = saved[4], &m = saved[5];
  const at::Tensor &xhat_hh = saved[6], &rstd_hh = saved[7], &xhat_c = saved[8], &rstd_c = saved[9], &as = saved[10];
  const T* Wp = opt_ptr<T>(peep);
  const T* Whr = opt_ptr<T>(w_hr);
  const T* Wf = opt_ptr<T>(w_fgr);
  const T* lnhw = opt_ptr<T>(ln_hh_w);
  const T* lncw = opt_ptr<T>(ln_c_w);
  const T* rm = opt_ptr<T>(rmask);
  const uint8_t* mask = opt_mask(step_mask);
  const uint8_t* kh = opt_mask(keep_h);
  const uint8_t* kc = opt_mask(keep_c);
  const at::Tensor h0 = hs[0], c0 = cs[0];
  Layout L = make_layout(gates, h0, c0, cfg, Wp != nullptr, lnhw != nullptr, Whr != nullptr, Wf != nullptr);
  L.ln_ih = lniw != nullptr;
  const double zh = fcfg[0], zc = fcfg[1];
  const bool bf16 = cfg.size() > 9 && cfg[9] && gates.scalar_type() == at::kFloat;  // matmul_precision="bf16"
  const int64_t T_ = L.T, B = L.B, H = L.H, R = L.R, GH = L.G * L.H, SH = L.S * L.H;
  auto opts = gates.options();
  auto zeros = [&](bool need, at::IntArrayRef shape) { return need ? at::zeros(shape, opts) : none_tensor(gates); };
  auto sized = [&](bool need, at::IntArrayRef shape) { return need ? pool_empty(shape, opts) : none_tensor(gates); };

  at::Tensor dG = pool_empty({T_, B, GH}, opts);
  at::Tensor dproj = L.ln_ih ? pool_empty({T_, B, GH}, opts) : dG;  // gradient of the raw input projection
  at::Tensor dgh_all = L.ln ? pool_empty({T_, B, GH}, opts) : dG;
  at::Tensor dhnew_all = sized(L.proj, {T_, B, R}), dsig_all = sized(L.fgr, {T_, B, SH});
  at::Tensor dh = dhT.contiguous().clone(), dc = dcT.contiguous().clone(), da = zeros(L.fgr, {B, SH});
  at::Tensor dh_prev = at::empty({B, R}, opts), dc_prev = at::empty({B, H}, opts), da_prev = sized(L.fgr, {B, SH});
  at::Tensor dhnew = L.proj ? at::empty({B, R}, opts) : at::empty({B, H}, opts);
  at::Tensor dm = sized(L.proj, {B, H}), dcn = at::empty({B, H}, opts), dhin = at::empty({B, R}, opts);
  at::Tensor dpeep = zeros(L.peep, {L.S, H}), dwhr = zeros(false, {0});
  at::Tensor dlnhw = zeros(L.ln, {GH}), dlnhb = zeros(L.ln, {GH}), dlncw = zeros(L.ln, {H}), dlncb = zeros(L.ln, {H});
  const bool has_dout = dout_in.numel() > 0;
  at::Tensor dout = has_dout ? dout_in.contiguous() : dout_in;
  std::vector<uint8_t> skip(B);

  const T* Whh = w_hh.data_ptr<T>();
  bool team = false;
  if constexpr (std::is_same<T, float>::value) {
    if (team_eligible(L)) {
      TeamBwd a{ptr<T>(gates), ptr<T>(cs), ptr<T>(cnew), ptr<T>(y), has_dout ? ptr<T>(dout) : nullptr,
                ptr<T>(dh), ptr<T>(dc), Whh, Wp, rm, mask, kh, kc, zh, zc, ptr<T>(dG),
                L.peep ? ptr<T>(dpeep) : nullptr, ptr<T>(dh), ptr<T>(dc)};
      team_backward(L, a);
      team = true;
    }
  }
  const bool serial = !team;
  // Rows split across threads as in the forward pass; parameter gradients summed per slice.
  const int64_t nsl = serial ? num_slices(B) : 1;
  at::Tensor dpeep_s = zeros(L.peep, {nsl, L.S * H}), dlncw_s = zeros(L.ln, {nsl, H}), dlncb_s = zeros(L.ln, {nsl, H});
  at::Tensor dlnhw_s = zeros(L.ln, {nsl, GH}), dlnhb_s = zeros(L.ln, {nsl, GH});
  at::Tensor dlniw_s = zeros(L.ln_ih, {nsl, GH}), dlnib_s = zeros(L.ln_ih, {nsl, GH});
  // bf16: the projection's gradient is rounded to bfloat16 (and column-summed for the bias) step
  // by step while its rows are in cache, rather than in a pass over (T, B, G*H) afterwards.
  const bool narrow_in_loop = bf16 && serial;
  at::Tensor dGb = narrow_in_loop ? pool_empty({T_, B, GH}, opts.dtype(at::kBFloat16)) : none_tensor(gates);
  at::Tensor dbias_s = narrow_in_loop ? at::zeros({nsl, GH}, opts) : none_tensor(gates);
  if (serial) over_slices(B, nsl, [&](int64_t sl, int64_t b0, int64_t b1) {
  const int64_t M = b1 - b0;
  const StepWeight<T> w_rec(false, M, R, GH, Whh, R, bf16);  // gates -> h
  const StepWeight<T> sw_fgr(false, M, SH, SH, L.fgr ? Wf : nullptr, SH);
  const StepWeight<T> w_proj(false, M, H, R, L.proj ? Whr : nullptr, H);
  T* dpeep_p = L.peep ? ptr<T>(dpeep_s) + sl * L.S * H : nullptr;
  T* dlncw_p = L.ln ? ptr<T>(dlncw_s) + sl * H : nullptr;
  T* dlncb_p = L.ln ? ptr<T>(dlncb_s) + sl * H : nullptr;
  T* dlnhw_p = L.ln ? ptr<T>(dlnhw_s) + sl * GH : nullptr;
  T* dlnhb_p = L.ln ? ptr<T>(dlnhb_s) + sl * GH : nullptr;
  T* dlniw_p = L.ln_ih ? ptr<T>(dlniw_s) + sl * GH : nullptr;
  T* dlnib_p = L.ln_ih ? ptr<T>(dlnib_s) + sl * GH : nullptr;
  T *dht = ptr<T>(dh), *dhp = ptr<T>(dh_prev), *dct = ptr<T>(dc), *dcp = ptr<T>(dc_prev);
  T *dat = ptr<T>(da), *dapv = ptr<T>(da_prev);
  std::vector<T> tmp(H);
  for (int64_t t = T_ - 1; t >= 0; --t) {
    T* dGt = ptr<T>(dG) + t * B * GH;
    T* dhn = ptr<T>(dhnew);
    T* dcnp = ptr<T>(dcn);
    const T* dO = has_dout ? ptr<T>(dout) + t * B * R : nullptr;
    // 1) through zoneout and the step mask, to the fresh states of this step.
    for (int64_t b = b0; b < b1; ++b) {
      T* dh_b = dht + b * R;
      T* dc_b = dct + b * H;
      skip[b] = row_masked(mask, t, B, b);
      if (skip[b]) {  // state carried: the gradient passes through; this step's output was 0
        std::memcpy(dhp + b * R, dh_b, sizeof(T) * R);
        std::memcpy(dcp + b * H, dc_b, sizeof(T) * H);
        std::fill_n(dGt + b * GH, GH, T(0));
        std::fill_n(dhn + b * (L.proj ? R : H), L.proj ? R : H, T(0));
        continue;
      }
      if (dO) for (int64_t j = 0; j < R; ++j) dh_b[j] += dO[b * R + j];
      T* dn = dhn + b * (L.proj ? R : H);
      T* dpv = dhp + b * R;
      zoneout_backward(kh ? kh + (t * B + b) * R : nullptr, zh, dh_b, dn, dpv, R);
      T* dcv = dcnp + b * H;
      T* dcpv = dcp + b * H;
      zoneout_backward(kc ? kc + (t * B + b) * H : nullptr, zc, dc_b, dcv, dcpv, H);
    }
    // 2) through the projection h = m W_hr^T.
    const T* dmt = dhn;
    if (L.proj) {
      std::memcpy(ptr<T>(dhnew_all) + (t * B + b0) * R, dhn + b0 * R, sizeof(T) * M * R);
      w_proj.run(M, dhn + b0 * R, R, T(0), ptr<T>(dm) + b0 * H, H);
      dmt = ptr<T>(dm);
    }
    // 3) through the gates, row by row.
    const T* Gt = ptr<T>(gates) + t * B * GH;
    {
      for (int64_t b = b0; b < b1; ++b) {
        if (skip[b]) continue;
        BwdRow<T> r{Gt + b * GH, ptr<T>(cs) + (t * B + b) * H, ptr<T>(cnew) + (t * B + b) * H,
                    ptr<T>(y) + (t * B + b) * H, L.ln ? ptr<T>(xhat_c) + (t * B + b) * H : nullptr,
                    L.ln ? ptr<T>(rstd_c)[t * B + b] : T(0), dmt + b * H, dcnp + b * H,
                    L.fgr ? dat + b * SH : nullptr, dGt + b * GH, dcp + b * H, Wp,
                    dpeep_p, lncw, dlncw_p, dlncb_p, tmp.data()};
        backward_row(L, r, L.H);
      }
    }
    // 3b) through layer norm of the input projection, to the raw projection.
    if (L.ln_ih) {
      const T* xi = ptr<T>(xhat_ih) + t * B * GH;
      const T* ri = ptr<T>(rstd_ih) + t * B;
      T* dz = ptr<T>(dproj) + t * B * GH;
      for (int64_t b = b0; b < b1; ++b) {
        if (skip[b]) { std::fill_n(dz + b * GH, GH, T(0)); continue; }
        norm_gates_backward(dGt + b * GH, xi + b * GH, ri[b], lniw, dlniw_p, dlnib_p, dz + b * GH, GH);
      }
    }
    if constexpr (std::is_same<T, float>::value) {
      if (narrow_in_loop)
        narrow_rows(ptr<float>(dproj) + (t * B + b0) * GH,
                    reinterpret_cast<uint16_t*>(dGb.data_ptr<at::BFloat16>()) + (t * B + b0) * GH,
                    ptr<float>(dbias_s) + sl * GH, M, GH);
    }
    // 4) through layer norm of the recurrent term, then the recurrent GEMM.
    T* dght = ptr<T>(dgh_all) + t * B * GH;
    if (L.ln) {
      const T* xh = ptr<T>(xhat_hh) + t * B * GH;
      const T* rs = ptr<T>(rstd_hh) + t * B;
      for (int64_t b = b0; b < b1; ++b) {
        if (skip[b]) { std::fill_n(dght + b * GH, GH, T(0)); continue; }
        norm_gates_backward(dGt + b * GH, xh + b * GH, rs[b], lnhw, dlnhw_p, dlnhb_p,
                                   dght + b * GH, GH);
      }
    }
    w_rec.run(M, dght + b0 * GH, GH, T(0), ptr<T>(dhin) + b0 * R, R);
    {
      const T* di = ptr<T>(dhin);
      if (rm) for (int64_t k = b0 * R; k < b1 * R; ++k) dhp[k] += di[k] * rm[k];
      else for (int64_t k = b0 * R; k < b1 * R; ++k) dhp[k] += di[k];
    }
    // 5) full gate recurrence: the sigmoid gates also saw the previous step's activations.
    if (L.fgr) {
      T* ds = ptr<T>(dsig_all) + t * B * SH;
      for (int64_t b = b0; b < b1; ++b) {
        const T* g = dGt + b * GH;
        T* s = ds + b * SH;
        if (L.has_i) std::memcpy(s + L.si, g + L.oi, sizeof(T) * H);
        if (L.has_f) std::memcpy(s + L.sf, g + L.of, sizeof(T) * H);
        if (L.has_o) std::memcpy(s + L.so, g + L.oo, sizeof(T) * H);
      }
      T* dap = dapv;
      sw_fgr.run(M, ds + b0 * SH, SH, T(0), dap + b0 * SH, SH);
      for (int64_t b = b0; b < b1; ++b)
        if (skip[b]) std::memcpy(dap + b * SH, dat + b * SH, sizeof(T) * SH);
      std::swap(dat, dapv);
    }
    std::swap(dht, dhp);
    std::swap(dct, dcp);
  }
  });
  if (serial && T_ % 2) {  // every slice ended with its gradients in the other buffer
    std::swap(dh, dh_prev);
    std::swap(dc, dc_prev);
  }
  if (nsl > 0 && serial) {
    if (L.peep) dpeep = dpeep_s.sum(0).view({L.S, H});
    if (L.ln) {
      dlncw = dlncw_s.sum(0);
      dlncb = dlncb_s.sum(0);
      dlnhw = dlnhw_s.sum(0);
      dlnhb = dlnhb_s.sum(0);
    }
  }
  at::Tensor dlniw = none_tensor(gates), dlnib = none_tensor(gates);
  if (L.ln_ih) {
    dlniw = dlniw_s.sum(0);
    dlnib = dlnib_s.sum(0);
  }
  // Weight gradients: one GEMM each over all T*B rows.
  at::Tensor hin_all = hs.narrow(0, 0, T_);
  if (rm) hin_all = hin_all * rmask->unsqueeze(0);
  // a^T b over all T*B rows. matmul_precision="bf16": in bfloat16 with float32 accumulation
  // (operands already in bfloat16, such as dGb, are used as they are).
  auto low = [](const at::Tensor& a) { return a.scalar_type() == at::kBFloat16 ? a : pooled_bf16(a); };
  auto gram = [&](const at::Tensor& a, const at::Tensor& b) {
    return bf16 ? at::mm(low(a).t(), low(b)).to(at::kFloat) : at::mm(a.t(), b);
  };
  // The bfloat16 copy of dG is returned too: the input projection's backward reuses it.
  at::Tensor dbias = none_tensor(gates);
  if (narrow_in_loop) dbias = dbias_s.sum(0);
  else if (bf16) std::tie(dGb, dbias) = pooled_bf16_colsum(dproj);
  const int64_t N = T_ * B;
  at::Tensor dwhh = gram((bf16 && !L.ln ? dGb : dgh_all).view({N, GH}), hin_all.reshape({N, R}));
  if (L.proj) dwhr = gram(dhnew_all.view({N, R}), m.view({N, H}));
  at::Tensor dwf = L.fgr ? gram(dsig_all.view({N, SH}), as.narrow(0, 0, T_).reshape({N, SH})) : none_tensor(gates);
  return {dproj, dh, dc, dwhh, dpeep, dwhr, dwf, dlnhw, dlnhb, dlncw, dlncb, dGb, dbias, dlniw, dlnib};
}

}  // namespace

std::vector<at::Tensor> lstm_backward(const at::Tensor& dout, const at::Tensor& dhT, const at::Tensor& dcT,
                                      at::TensorList saved, const at::Tensor& w_hh,
                                      const c10::optional<at::Tensor>& peep, const c10::optional<at::Tensor>& w_hr,
                                      const c10::optional<at::Tensor>& w_fgr, const c10::optional<at::Tensor>& ln_hh_w,
                                      const c10::optional<at::Tensor>& ln_c_w,
                                      const c10::optional<at::Tensor>& ln_ih_w, const c10::optional<at::Tensor>& rmask,
                                      const c10::optional<at::Tensor>& step_mask,
                                      const c10::optional<at::Tensor>& keep_h, const c10::optional<at::Tensor>& keep_c,
                                      at::IntArrayRef cfg, at::ArrayRef<double> fcfg) {
  if (saved[0].scalar_type() == at::kDouble)
    return backward_impl<double>(dout, dhT, dcT, saved, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_c_w, ln_ih_w, rmask,
                                 step_mask, keep_h, keep_c, cfg, fcfg);
  return backward_impl<float>(dout, dhT, dcT, saved, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_c_w, ln_ih_w, rmask,
                              step_mask, keep_h, keep_c, cfg, fcfg);
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) { m.def("lstm_backward", &lstmkit::lstm_backward); }
