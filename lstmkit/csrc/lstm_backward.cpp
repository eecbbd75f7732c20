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

// saved: what lstm_forward kept (LstmSaved). Returns LstmGrads: the gradients of gx, h0, c0,
// the weights and the layer norms' shifts (undefined where the input was absent), then d_gx in
// bfloat16 and its column sums (matmul_precision="bf16" only, else undefined).
template <typename T>
LstmGrads backward_impl(const OptTensor& d_output, const OptTensor& d_h_n, const OptTensor& d_c_n, const LstmSaved& s,
                        const LstmWeights& w, const LstmMasks& masks, const LstmConfig& cfg) {
  const at::Tensor &gates = s.gates, &cnew = s.cnew, &y = s.y, &cs = s.c_states, &hs = s.h_states, &m = s.m;
  const at::Tensor &xhat_hh = s.xhat_hh, &rstd_hh = s.rstd_hh, &xhat_c = s.xhat_c, &rstd_c = s.rstd_c;
  const at::Tensor &as = s.a_states, &xhat_ih = s.xhat_ih, &rstd_ih = s.rstd_ih;
  const at::Tensor& w_hh = w.weight_hh;
  const T* lniw = opt_ptr<T>(w.ln_ih_weight);
  const T* Wp = opt_ptr<T>(w.weight_peephole);
  const T* Whr = opt_ptr<T>(w.weight_hr);
  const T* Wf = opt_ptr<T>(w.weight_fgr);
  const T* lnhw = opt_ptr<T>(w.ln_hh_weight);
  const T* lncw = opt_ptr<T>(w.ln_c_weight);
  const T* rm = opt_ptr<T>(masks.rmask);
  const uint8_t* mask = opt_mask(masks.step_mask);
  const uint8_t* kh = opt_mask(masks.keep_h);
  const uint8_t* kc = opt_mask(masks.keep_c);
  const at::Tensor h0 = hs[0], c0 = cs[0];
  Layout L = make_layout(gates, h0, c0, cfg, Wp != nullptr, lnhw != nullptr, Whr != nullptr, Wf != nullptr);
  L.ln_ih = lniw != nullptr;
  const double zh = cfg.zoneout_h, zc = cfg.zoneout_c;
  const bool bf16 = cfg.bf16 && gates.scalar_type() == at::kFloat;
  const int64_t T_ = L.T, B = L.B, H = L.H, R = L.R, GH = L.G * L.H, SH = L.S * L.H;
  auto opts = gates.options();
  auto zeros = [&](bool need, at::IntArrayRef shape) { return need ? at::zeros(shape, opts) : none_tensor(gates); };
  auto sized = [&](bool need, at::IntArrayRef shape) { return need ? pool_empty(shape, opts) : none_tensor(gates); };

  at::Tensor dG = pool_empty({T_, B, GH}, opts);
  at::Tensor dproj = L.ln_ih ? pool_empty({T_, B, GH}, opts) : dG;  // gradient of the raw input projection
  at::Tensor dgh_all = L.ln ? pool_empty({T_, B, GH}, opts) : dG;
  at::Tensor dhnew_all = sized(L.proj, {T_, B, R}), dsig_all = sized(L.fgr, {T_, B, SH});
  // A final state nothing depends on (None from autograd) has a zero gradient.
  at::Tensor dh = present(d_h_n) ? d_h_n->contiguous().clone() : at::zeros({B, R}, opts);
  at::Tensor dc = present(d_c_n) ? d_c_n->contiguous().clone() : at::zeros({B, H}, opts);
  at::Tensor da = zeros(L.fgr, {B, SH});
  at::Tensor dh_prev = at::empty({B, R}, opts), dc_prev = at::empty({B, H}, opts), da_prev = sized(L.fgr, {B, SH});
  at::Tensor dhnew = L.proj ? at::empty({B, R}, opts) : at::empty({B, H}, opts);
  at::Tensor dm = sized(L.proj, {B, H}), dcn = at::empty({B, H}, opts), dhin = at::empty({B, R}, opts);
  at::Tensor dpeep = zeros(L.peep, {L.S, H}), dwhr = zeros(false, {0});
  at::Tensor dlnhw = zeros(L.ln, {GH}), dlnhb = zeros(L.ln, {GH}), dlncw = zeros(L.ln, {H}), dlncb = zeros(L.ln, {H});
  const bool has_dout = present(d_output);
  const at::Tensor dout = has_dout ? d_output->contiguous() : at::Tensor();
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
  if (rm) hin_all = hin_all * masks.rmask->unsqueeze(0);
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
  const at::Tensor none;  // the gradient of an absent input
  // In the order of the schema's returns: d_gx, d_h0, d_c0, d_weight_hh, d_weight_peephole, d_weight_hr,
  // d_weight_fgr, d_ln_hh_weight, d_ln_c_weight, d_ln_ih_weight, d_ln_hh_bias, d_ln_c_bias, d_ln_ih_bias,
  // d_gx_bf16, d_gx_colsum.
  return {dproj, dh, dc, dwhh, L.peep ? dpeep : none, L.proj ? dwhr : none, L.fgr ? dwf : none,
          L.ln ? dlnhw : none, L.ln ? dlncw : none, L.ln_ih ? dlniw : none, L.ln ? dlnhb : none,
          L.ln ? dlncb : none, L.ln_ih ? dlnib : none, bf16 ? dGb : none, bf16 ? dbias : none};
}

}  // namespace

LstmGrads lstm_backward(const OptTensor& d_output, const OptTensor& d_h_n, const OptTensor& d_c_n,
                        at::TensorList saved, const at::Tensor& weight_hh, const OptTensor& weight_peephole,
                        const OptTensor& weight_hr, const OptTensor& weight_fgr, const OptTensor& ln_hh_weight,
                        const OptTensor& ln_c_weight, const OptTensor& ln_ih_weight, const OptTensor& rmask,
                        const OptTensor& step_mask, const OptTensor& keep_h, const OptTensor& keep_c,
                        bool input_gate, bool forget_gate, bool output_gate, bool coupled,
                        c10::string_view gate_activation, c10::string_view input_activation,
                        c10::string_view output_activation, double zoneout_h, double zoneout_c, double ln_eps,
                        bool bf16) {
  const LstmSaved s = LstmSaved::from(saved);
  const LstmWeights w{weight_hh, weight_peephole, weight_hr, weight_fgr, ln_hh_weight, ln_c_weight, ln_ih_weight};
  const LstmMasks masks{rmask, step_mask, keep_h, keep_c};
  const LstmConfig cfg = make_lstm_config(input_gate, forget_gate, output_gate, coupled, gate_activation,
                                          input_activation, output_activation, zoneout_h, zoneout_c, ln_eps, bf16);
  if (s.gates.scalar_type() == at::kDouble) return backward_impl<double>(d_output, d_h_n, d_c_n, s, w, masks, cfg);
  return backward_impl<float>(d_output, d_h_n, d_c_n, s, w, masks, cfg);
}

}  // namespace lstmkit
