// Fused LSTM-family recurrence on CPU: forward and backward over all time steps in one call.
//
// The input projection (W_ih x + biases for every step) is one GEMM done by the caller; this
// file runs the recurrence: per step one (B, R) x (R, G*H) GEMM into the gate pre-activations,
// then one pass over each batch row that applies peepholes, the gate activations, the cell
// update, layer norm, zoneout and step masks in place. The backward pass walks time in reverse
// with one pointwise pass and one (B, G*H) x (G*H, R) GEMM per step, then forms the weight
// gradients as single large GEMMs over all steps (the haste / oneDNN scheme).
//
// This file is the forward pass; lstm_backward.cpp the backward pass, lstm_team.cpp the threaded
// path for small batches, lstm_rows.h the row kernels they share.
//
// The equations are those of lstmkit.cells.lstm (the float64 reference); tests hold this file
// to them and to torch.nn.LSTM. Shapes: T steps, B batch, H hidden, R = state width (P with a
// projection, else H), G gates with rows (storage order i|f|g|o, absent gates dropped),
// S sigmoid gates (G minus the candidate g).
#include "lstm_team.h"

#include <torch/library.h>


namespace lstmkit {
namespace {

template <typename T>
std::tuple<at::Tensor, at::Tensor, at::Tensor, std::vector<at::Tensor>> forward_impl(
    const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& c0, const LstmWeights& w, const LstmShifts& shift,
    const LstmMasks& masks, const LstmConfig& cfg, bool save, bool inplace) {
  const at::Tensor& w_hh = w.weight_hh;
  const T* lniw = opt_ptr<T>(w.ln_ih_weight);
  const T* lnib = opt_ptr<T>(shift.ln_ih_bias);
  const T* Wp = opt_ptr<T>(w.weight_peephole);
  const T* Whr = opt_ptr<T>(w.weight_hr);
  const T* Wf = opt_ptr<T>(w.weight_fgr);
  const T* lnhw = opt_ptr<T>(w.ln_hh_weight);
  const T* lnhb = opt_ptr<T>(shift.ln_hh_bias);
  const T* lncw = opt_ptr<T>(w.ln_c_weight);
  const T* lncb = opt_ptr<T>(shift.ln_c_bias);
  const T* rm = opt_ptr<T>(masks.rmask);
  const uint8_t* mask = opt_mask(masks.step_mask);
  const uint8_t* kh = opt_mask(masks.keep_h);
  const uint8_t* kc = opt_mask(masks.keep_c);
  Layout L = make_layout(gx, h0, c0, cfg, Wp != nullptr, lnhw != nullptr, Whr != nullptr, Wf != nullptr);
  L.ln_ih = lniw != nullptr;
  {  // every shape the loops below index by, checked before the first pointer is used
    const char* k = "LSTM";
    const int64_t GH = L.G * L.H, SH = L.S * L.H;
    TORCH_CHECK(h0.dim() == 2 && h0.size(0) == L.B && c0.dim() == 2 && c0.size(0) == L.B, "lstmkit fused LSTM: h0 ",
                h0.sizes(), " and c0 ", c0.sizes(), " must be (batch=", L.B, ", size)");
    check_numel(w_hh, GH * L.R, "weight_hh", k);
    TORCH_CHECK(w_hh.numel() > 0, "lstmkit fused LSTM: weight_hh is empty");
    check_numel(w.weight_peephole, SH, "the peephole weights", k);
    check_numel(w.weight_hr, L.R * L.H, "weight_hr", k);
    TORCH_CHECK(!L.proj || L.R < L.H, "lstmkit fused LSTM: a projection needs proj_size < hidden_size");
    TORCH_CHECK(L.proj || L.R == L.H, "lstmkit fused LSTM: h0 has ", L.R, " columns but c0 ", L.H,
                " (no projection)");
    check_numel(w.weight_fgr, SH * SH, "weight_fgr", k);
    check_numel(w.ln_hh_weight, GH, "ln_hh weight", k);
    check_numel(shift.ln_hh_bias, GH, "ln_hh bias", k);
    check_numel(w.ln_c_weight, L.H, "ln_c weight", k);
    check_numel(shift.ln_c_bias, L.H, "ln_c bias", k);
    check_numel(w.ln_ih_weight, GH, "ln_ih weight", k);
    check_numel(shift.ln_ih_bias, GH, "ln_ih bias", k);
    check_numel(masks.rmask, L.B * L.R, "the recurrent-dropout mask", k);
    check_numel(masks.step_mask, L.T * L.B, "the step mask", k);
    check_numel(masks.keep_h, L.T * L.B * L.R, "the hidden zoneout mask", k);
    check_numel(masks.keep_c, L.T * L.B * L.H, "the cell zoneout mask", k);
  }
  const bool bf16 = cfg.bf16;
  const double zh = cfg.zoneout_h, zc = cfg.zoneout_c, eps = cfg.ln_eps;
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
      const LstmSaved kept{gates, cnew, y, cs, hs, m, xhat_hh, rstd_hh, xhat_c, rstd_c, as, xhat_ih, rstd_ih};
      return {out, hs[T_].clone(), cs[T_].clone(), kept.list()};
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
  const LstmSaved kept{gates, cnew, y, cs, hs, m, xhat_hh, rstd_hh, xhat_c, rstd_c, as, xhat_ih, rstd_ih};
  return {out, hs[T_].clone(), cs[T_].clone(), kept.list()};
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor, std::vector<at::Tensor>> lstm_forward(
    const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& weight_hh,
    const OptTensor& weight_peephole, const OptTensor& weight_hr, const OptTensor& weight_fgr,
    const OptTensor& ln_hh_weight, const OptTensor& ln_c_weight, const OptTensor& ln_ih_weight,
    const OptTensor& ln_hh_bias, const OptTensor& ln_c_bias, const OptTensor& ln_ih_bias, const OptTensor& rmask,
    const OptTensor& step_mask, const OptTensor& keep_h, const OptTensor& keep_c, bool input_gate,
    bool forget_gate, bool output_gate, bool coupled, c10::string_view gate_activation,
    c10::string_view input_activation, c10::string_view output_activation, double zoneout_h, double zoneout_c,
    double ln_eps, bool bf16, bool save, bool inplace) {
  TORCH_CHECK(gx.is_contiguous() && h0.is_contiguous() && c0.is_contiguous() && weight_hh.is_contiguous(),
              "lstmkit fused LSTM: inputs must be contiguous");
  TORCH_CHECK(gx.device().is_cpu(), "lstmkit fused LSTM runs on CPU tensors");
  TORCH_CHECK(gx.dim() == 3, "lstmkit fused LSTM: gx must be (T, batch, gates*H), got ", gx.sizes());
  const LstmWeights w{weight_hh, weight_peephole, weight_hr, weight_fgr, ln_hh_weight, ln_c_weight, ln_ih_weight};
  const LstmShifts shift{ln_hh_bias, ln_c_bias, ln_ih_bias};
  const LstmMasks masks{rmask, step_mask, keep_h, keep_c};
  const LstmConfig cfg = make_lstm_config(input_gate, forget_gate, output_gate, coupled, gate_activation,
                                          input_activation, output_activation, zoneout_h, zoneout_c, ln_eps, bf16);
  if (gx.scalar_type() == at::kDouble) return forward_impl<double>(gx, h0, c0, w, shift, masks, cfg, save, inplace);
  TORCH_CHECK(gx.scalar_type() == at::kFloat, "lstmkit fused LSTM supports float32 and float64, got ",
              gx.scalar_type());
  return forward_impl<float>(gx, h0, c0, w, shift, masks, cfg, save, inplace);
}

}  // namespace lstmkit

// Both passes' schemas, every argument named: Python passes them as keywords (fused.py). The
// masks and switches are the same for both; the forward pass alone takes the layer norms' shifts
// and, with `save`, keeps what the backward pass needs in `saved` (an LstmSaved). `inplace`: gx
// is the caller's temporary, so the gate activations may overwrite it.
#define LSTMKIT_LSTM_WEIGHTS                                                                           \
  "Tensor weight_hh, *, Tensor? weight_peephole=None, Tensor? weight_hr=None, Tensor? weight_fgr=None, " \
  "Tensor? ln_hh_weight=None, Tensor? ln_c_weight=None, Tensor? ln_ih_weight=None, "
#define LSTMKIT_LSTM_MASKS "Tensor? rmask=None, Tensor? step_mask=None, Tensor? keep_h=None, Tensor? keep_c=None, "
#define LSTMKIT_LSTM_SWITCHES                                                                              \
  "bool input_gate=True, bool forget_gate=True, bool output_gate=True, bool coupled=False, "               \
  "str gate_activation=\"sigmoid\", str input_activation=\"tanh\", str output_activation=\"tanh\", "     \
  "float zoneout_h=0., float zoneout_c=0., float ln_eps=1e-05, bool bf16=False"

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("lstm_forward(Tensor gx, Tensor h0, Tensor c0, " LSTMKIT_LSTM_WEIGHTS
        "Tensor? ln_hh_bias=None, Tensor? ln_c_bias=None, Tensor? ln_ih_bias=None, " LSTMKIT_LSTM_MASKS
        LSTMKIT_LSTM_SWITCHES ", bool save=False, bool inplace=False) "
        "-> (Tensor output, Tensor h_n, Tensor c_n, Tensor[] saved)",
        &lstmkit::lstm_forward);
  // Gradients of gx (the raw input projection), the states and each weight (None where absent),
  // then, with bf16, d_gx in bfloat16 and its column sums for the input projection's backward.
  m.def("lstm_backward(Tensor? d_output, Tensor? d_h_n, Tensor? d_c_n, Tensor[] saved, " LSTMKIT_LSTM_WEIGHTS
        LSTMKIT_LSTM_MASKS LSTMKIT_LSTM_SWITCHES
        ") -> (Tensor d_gx, Tensor d_h0, Tensor d_c0, Tensor d_weight_hh, Tensor d_weight_peephole, "
        "Tensor d_weight_hr, Tensor d_weight_fgr, Tensor d_ln_hh_weight, Tensor d_ln_c_weight, "
        "Tensor d_ln_ih_weight, Tensor d_ln_hh_bias, Tensor d_ln_c_bias, Tensor d_ln_ih_bias, "
        "Tensor d_gx_bf16, Tensor d_gx_colsum)",
        &lstmkit::lstm_backward);
}
