// Fused LSTM-family recurrence on CPU: forward and backward over all time steps in one call.
//
// The input projection (W_ih x + biases for every step) is one GEMM done by the caller; this
// file runs the recurrence: per step one (B, R) x (R, G*H) GEMM into the gate pre-activations,
// then one pass over each batch row that applies peepholes, the gate activations, the cell
// update, layer norm, zoneout and step masks in place. The backward pass walks time in reverse
// with one pointwise pass and one (B, G*H) x (G*H, R) GEMM per step, then forms the weight
// gradients as single large GEMMs over all steps (the haste / oneDNN scheme).
//
// The equations are those of lstmkit.cells.lstm (the float64 reference); tests hold this file
// to them and to torch.nn.LSTM. Shapes: T steps, B batch, H hidden, R = state width (P with a
// projection, else H), G gates with rows (storage order i|f|g|o, absent gates dropped),
// S sigmoid gates (G minus the candidate g).
#include "lstm_team.h"

#include <torch/library.h>


namespace lstmkit {
namespace {

static inline bool row_masked(const uint8_t* mask, int64_t t, int64_t B, int64_t b) {
  return mask && !mask[t * B + b];
}

template <typename T> T* ptr(const at::Tensor& t) { return t.numel() ? t.data_ptr<T>() : nullptr; }

template <typename T>
std::vector<at::Tensor> forward_impl(const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& c0,
                                     const at::Tensor& w_hh, const c10::optional<at::Tensor>& peep,
                                     const c10::optional<at::Tensor>& w_hr, const c10::optional<at::Tensor>& w_fgr,
                                     const c10::optional<at::Tensor>& ln_hh_w, const c10::optional<at::Tensor>& ln_hh_b,
                                     const c10::optional<at::Tensor>& ln_c_w, const c10::optional<at::Tensor>& ln_c_b,
                                     const c10::optional<at::Tensor>& ln_ih_w, const c10::optional<at::Tensor>& ln_ih_b,
                                     const c10::optional<at::Tensor>& rmask, const c10::optional<at::Tensor>& step_mask,
                                     const c10::optional<at::Tensor>& keep_h, const c10::optional<at::Tensor>& keep_c,
                                     at::IntArrayRef cfg, at::ArrayRef<double> fcfg) {
  const T* lniw = opt_ptr<T>(ln_ih_w);
  const T* lnib = opt_ptr<T>(ln_ih_b);
  const T* Wp = opt_ptr<T>(peep);
  const T* Whr = opt_ptr<T>(w_hr);
  const T* Wf = opt_ptr<T>(w_fgr);
  const T* lnhw = opt_ptr<T>(ln_hh_w);
  const T* lnhb = opt_ptr<T>(ln_hh_b);
  const T* lncw = opt_ptr<T>(ln_c_w);
  const T* lncb = opt_ptr<T>(ln_c_b);
  const T* rm = opt_ptr<T>(rmask);
  const uint8_t* mask = opt_mask(step_mask);
  const uint8_t* kh = opt_mask(keep_h);
  const uint8_t* kc = opt_mask(keep_c);
  Layout L = make_layout(gx, h0, c0, cfg, Wp != nullptr, lnhw != nullptr, Whr != nullptr, Wf != nullptr);
  L.ln_ih = lniw != nullptr;
  const bool save = cfg[7], inplace = cfg.size() > 8 && cfg[8];
  const bool bf16 = cfg.size() > 9 && cfg[9];  // matmul_precision="bf16"
  const double zh = fcfg[0], zc = fcfg[1], eps = fcfg[2];
  const int64_t T_ = L.T, B = L.B, H = L.H, R = L.R, GH = L.G * L.H, SH = L.S * L.H;
  auto opts = gx.options();
  auto sized = [&](bool need, at::IntArrayRef shape) { return need ? pool_empty(shape, opts) : none_tensor(gx); };

  // Pre-activations in, activations out: in gx itself when the caller owns it (a temporary).
  at::Tensor gates = inplace ? gx : pool_empty(gx.sizes(), opts).copy_(gx);
  at::Tensor hs = pool_empty({T_ + 1, B, R}, opts), cs = pool_empty({T_ + 1, B, H}, opts);
  hs[0].copy_(h0);
  cs[0].copy_(c0);
  const int64_t ts = save ? 1 : 0;  // per-step buffers are (T, ...) when saved, one step otherwise
  at::Tensor cnew = pool_empty({save ? T_ : 1, B, H}, opts), y = pool_empty({save ? T_ : 1, B, H}, opts);
  at::Tensor m = pool_empty({(save && L.proj) ? T_ : 1, B, H}, opts);
  at::Tensor xhat_hh = sized(L.ln, {save ? T_ : 1, B, GH}), rstd_hh = sized(L.ln, {save ? T_ : 1, B});
  at::Tensor xhat_c = sized(L.ln, {save ? T_ : 1, B, H}), rstd_c = sized(L.ln, {save ? T_ : 1, B});
  at::Tensor xhat_ih = sized(L.ln_ih, {save ? T_ : 1, B, GH}), rstd_ih = sized(L.ln_ih, {save ? T_ : 1, B});
  at::Tensor as = sized(L.fgr, {T_ + 1, B, SH});
  if (L.fgr) as[0].zero_();
  at::Tensor out = pool_empty({T_, B, R}, opts);
  at::Tensor hin_buf = sized(rm != nullptr, {B, R}), gh_buf = sized(L.ln, {B, GH}), f_buf = sized(L.fgr, {B, SH});
  at::Tensor hnew_buf = sized(L.proj, {B, R});

  T* Gp = ptr<T>(gates);
  T* hsp = ptr<T>(hs);
  T* csp = ptr<T>(cs);
  T* asp = ptr<T>(as);
  const T* Whh = w_hh.data_ptr<T>();
  if constexpr (std::is_same<T, float>::value) {
    if (team_eligible(L)) {
      TeamFwd a{Gp, hsp, csp, ptr<T>(cnew), ptr<T>(y), ptr<T>(m), ptr<T>(out), Whh, Wp, rm, mask, kh, kc, zh, zc, ts};
      team_forward(L, a);
      return {out, hs[T_].clone(), cs[T_].clone(), gates, cnew, y, cs, hs, m, xhat_hh, rstd_hh, xhat_c, rstd_c, as,
              xhat_ih, rstd_ih};
    }
  }
  // Batch rows never meet in the recurrence: each thread runs every step for its own rows.
  over_slices(B, num_slices(B), [&](int64_t, int64_t b0, int64_t b1) {
  const int64_t M = b1 - b0;
  const StepWeight<T> w_rec(true, M, GH, R, Whh, R, bf16);  // h -> gates
  const StepWeight<T> sw_fgr(true, M, SH, SH, L.fgr ? Wf : nullptr, SH);
  const StepWeight<T> w_proj(true, M, R, H, L.proj ? Whr : nullptr, H);
  for (int64_t t = 0; t < T_; ++t) {
    T* G = Gp + t * B * GH;
    const T* hprev = hsp + t * B * R;
    const T* cprev = csp + t * B * H;
    T* hnext = hsp + (t + 1) * B * R;
    T* cnext = csp + (t + 1) * B * H;
    T* cn = ptr<T>(cnew) + t * ts * B * H;
    T* yt = ptr<T>(y) + t * ts * B * H;
    T* mt = ptr<T>(m) + t * ts * (L.proj ? 1 : 0) * B * H;
    if (L.ln_ih) {  // G holds this step's raw input projection: normalise it in place
      T* xi = ptr<T>(xhat_ih) + t * ts * B * GH;
      T* ri = ptr<T>(rstd_ih) + t * ts * B;
      for (int64_t b = b0; b < b1; ++b)
        ri[b] = norm_gates(G + b * GH, xi + b * GH, lniw, lnib, G + b * GH, false, GH, eps);
    }
    const T* hin = hprev;
    if (rm) {
      T* hb = ptr<T>(hin_buf);
      for (int64_t k = b0 * R; k < b1 * R; ++k) hb[k] = hprev[k] * rm[k];
      hin = hb;
    }
    if (L.ln) {
      T* gh = ptr<T>(gh_buf);
      T* xh = ptr<T>(xhat_hh) + t * ts * B * GH;
      T* rs = ptr<T>(rstd_hh) + t * ts * B;
      w_rec.run(M, hin + b0 * R, R, T(0), gh + b0 * GH, GH);
      for (int64_t b = b0; b < b1; ++b)
        rs[b] = norm_gates(gh + b * GH, xh + b * GH, lnhw, lnhb, G + b * GH, true, GH, eps);
    } else {
      w_rec.run(M, hin + b0 * R, R, T(1), G + b0 * GH, GH);
    }
    if (L.fgr) {
      T* fb = ptr<T>(f_buf);
      sw_fgr.run(M, asp + (t * B + b0) * SH, SH, T(0), fb + b0 * SH, SH);
      for (int64_t b = b0; b < b1; ++b) {
        T* g = G + b * GH;
        const T* f = fb + b * SH;
        if (L.has_i) for (int64_t j = 0; j < H; ++j) g[L.oi + j] += f[L.si + j];
        if (L.has_f) for (int64_t j = 0; j < H; ++j) g[L.of + j] += f[L.sf + j];
        if (L.has_o) for (int64_t j = 0; j < H; ++j) g[L.oo + j] += f[L.so + j];
      }
    }
    {
      for (int64_t b = b0; b < b1; ++b) {
        if (row_masked(mask, t, B, b)) {
          std::fill_n(mt + b * H, H, T(0));
          continue;
        }
        FwdRow<T> r{G + b * GH, cprev + b * H, cn + b * H, yt + b * H, mt + b * H,
                    L.ln ? ptr<T>(xhat_c) + (t * ts * B + b) * H : nullptr,
                    L.ln ? ptr<T>(rstd_c) + t * ts * B + b : nullptr,
                    L.fgr ? asp + ((t + 1) * B + b) * SH : nullptr, Wp, lncw, lncb};
        forward_row(L, r, L.H, eps);
      }
    }
    const T* hnew = mt;
    if (L.proj) {
      w_proj.run(M, mt + b0 * H, H, T(0), ptr<T>(hnew_buf) + b0 * R, R);
      hnew = ptr<T>(hnew_buf);
    }
    T* o = ptr<T>(out) + t * B * R;
    for (int64_t b = b0; b < b1; ++b) {
      T* hn = hnext + b * R;
      T* cx = cnext + b * H;
      const T* hp = hprev + b * R;
      const T* cp = cprev + b * H;
      if (row_masked(mask, t, B, b)) {
        std::memcpy(hn, hp, sizeof(T) * R);
        std::memcpy(cx, cp, sizeof(T) * H);
        if (L.fgr) std::memcpy(asp + ((t + 1) * B + b) * SH, asp + (t * B + b) * SH, sizeof(T) * SH);
        std::fill_n(o + b * R, R, T(0));
        continue;
      }
      const T* hv = hnew + b * R;
      const T* cv = cn + b * H;
      zoneout(kh ? kh + (t * B + b) * R : nullptr, zh, hp, hv, hn, R);
      zoneout(kc ? kc + (t * B + b) * H : nullptr, zc, cp, cv, cx, H);
      std::memcpy(o + b * R, hn, sizeof(T) * R);
    }
  }
  });
  return {out, hs[T_].clone(), cs[T_].clone(), gates, cnew, y, cs, hs, m, xhat_hh, rstd_hh, xhat_c, rstd_c, as,
          xhat_ih, rstd_ih};
}

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
  // matmul_precision="bf16": these large products run in bfloat16 with float32 accumulation.
  // The bfloat16 copy of dG is returned too: the input projection's backward reuses it.
  auto mm = [bf16](const at::Tensor& a, const at::Tensor& b) {
    return bf16 ? at::mm(pooled_bf16(a), pooled_bf16(b)).to(at::kFloat) : at::mm(a, b);
  };
  at::Tensor dbias = none_tensor(gates);
  if (narrow_in_loop) dbias = dbias_s.sum(0);
  else if (bf16) std::tie(dGb, dbias) = pooled_bf16_colsum(dproj);
  at::Tensor dwhh = bf16 ? at::mm((L.ln ? pooled_bf16(dgh_all) : dGb).view({T_ * B, GH}).t(),
                                  pooled_bf16(hin_all.reshape({T_ * B, R}))).to(at::kFloat)
                         : at::mm(dgh_all.view({T_ * B, GH}).t(), hin_all.reshape({T_ * B, R}));
  if (L.proj) dwhr = mm(dhnew_all.view({T_ * B, R}).t(), m.view({T_ * B, H}));
  at::Tensor dwf = L.fgr ? mm(dsig_all.view({T_ * B, SH}).t(), as.narrow(0, 0, T_).reshape({T_ * B, SH}))
                         : none_tensor(gates);
  return {dproj, dh, dc, dwhh, dpeep, dwhr, dwf, dlnhw, dlnhb, dlncw, dlncb, dGb, dbias, dlniw, dlnib};
}

}  // namespace

std::vector<at::Tensor> lstm_forward(const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& c0,
                                     const at::Tensor& w_hh, const c10::optional<at::Tensor>& peep,
                                     const c10::optional<at::Tensor>& w_hr, const c10::optional<at::Tensor>& w_fgr,
                                     const c10::optional<at::Tensor>& ln_hh_w, const c10::optional<at::Tensor>& ln_hh_b,
                                     const c10::optional<at::Tensor>& ln_c_w, const c10::optional<at::Tensor>& ln_c_b,
                                     const c10::optional<at::Tensor>& ln_ih_w, const c10::optional<at::Tensor>& ln_ih_b,
                                     const c10::optional<at::Tensor>& rmask, const c10::optional<at::Tensor>& step_mask,
                                     const c10::optional<at::Tensor>& keep_h, const c10::optional<at::Tensor>& keep_c,
                                     at::IntArrayRef cfg, at::ArrayRef<double> fcfg) {
  TORCH_CHECK(gx.is_contiguous() && h0.is_contiguous() && c0.is_contiguous() && w_hh.is_contiguous(),
              "lstmkit fused LSTM: inputs must be contiguous");
  TORCH_CHECK(gx.device().is_cpu(), "lstmkit fused LSTM runs on CPU tensors");
  if (gx.scalar_type() == at::kDouble)
    return forward_impl<double>(gx, h0, c0, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, ln_ih_w,
                                ln_ih_b, rmask, step_mask, keep_h, keep_c, cfg, fcfg);
  TORCH_CHECK(gx.scalar_type() == at::kFloat, "lstmkit fused LSTM supports float32 and float64, got ",
              gx.scalar_type());
  return forward_impl<float>(gx, h0, c0, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, ln_ih_w, ln_ih_b,
                             rmask, step_mask, keep_h, keep_c, cfg, fcfg);
}

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

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("lstm_forward", &lstmkit::lstm_forward);
  m.def("lstm_backward", &lstmkit::lstm_backward);
}
