// Fused GRU recurrence on CPU: forward and backward over all time steps in one call.
//
// Same scheme as lstm.cpp: the input projection gx = W_ih x (+ layer norm) + b_ih of every step
// is one GEMM done by the caller; this file runs the recurrence. Per step one (B, H) x (H, 3H)
// GEMM gives the recurrent terms of r|z|n, then one pass over each batch row applies layer
// norm / bias, the gate activations, the state update, zoneout and step masks. The reset-before
// form ("gru_cho", n = act(x_n + U_n (r * h) + b_n)) needs r before the n-gate GEMM, so it runs
// one GEMM for r|z, a row pass, one GEMM for n and a second row pass. The backward pass walks
// time in reverse with row passes and one GEMM to dh per step (two for gru_cho), then forms
// dW_hh and db_hh as single large GEMMs / sums over all steps.
//
// Speed: the per-step GEMMs run on W_hh packed once per call (StepWeight: the AVX-512
// microkernel, else MKL's packed GEMM); threads split the batch, each running every step for
// its own rows (no barrier per step); the (T, B, ·) buffers come from the recycling pool. The
// row kernels are in gru_rows.h.
//
// The equations are those of lstmkit.cells.gru (the float64 reference) and GRUStep in
// lstmkit/kernels/steps.py; tests hold this file to them and to torch.nn.GRU. Shapes: T steps,
// B batch, H hidden; gate blocks in storage order r|z|n, so a gate row is (3H).
#include "gru_rows.h"

#include <torch/library.h>

#include <vector>

namespace lstmkit {
namespace {

using namespace gru_rows;

// The state after zoneout (training keep mask, or the eval-mode rate zh) and the step's output.
template <typename T>
static LSTMKIT_INLINE void finish_row(const uint8_t* keep, double zh, const T* hprev, T* hnext, T* out, int64_t H) {
  zoneout(keep, zh, hprev, hnext, hnext, H);
  std::memcpy(out, hnext, sizeof(T) * H);
}

// Returns out (T, B, H), h_T (B, H) and, with `save`, what backward needs (GruSaved).
template <typename T>
std::tuple<at::Tensor, at::Tensor, std::vector<at::Tensor>> forward_impl(const at::Tensor& gx, const at::Tensor& h0,
                                                                         const GruWeights& w, const GruShifts& shift,
                                                                         const GruMasks& masks, const GruConfig& cfg,
                                                                         bool save) {
  const at::Tensor& w_hh = w.weight_hh;
  const T* lniw = opt_ptr<T>(w.ln_ih_weight);  // gx is the raw projection: normalise each gate per step
  const T* lnib = opt_ptr<T>(shift.ln_ih_bias);
  const T* bias = opt_ptr<T>(w.bias_hh);
  const T* lnw = opt_ptr<T>(w.ln_hh_weight);
  const T* lnb = opt_ptr<T>(shift.ln_hh_bias);
  const T* rm = opt_ptr<T>(masks.rmask);
  const uint8_t* mask = opt_mask(masks.step_mask);
  const uint8_t* kh = opt_mask(masks.keep_h);
  const Layout L = make_layout(gx, h0, cfg);
  {  // every shape the loops below index by, checked before the first pointer is used
    const char* k = "GRU";
    TORCH_CHECK(h0.dim() == 2, "lstmkit fused GRU: h0 must be (batch, H), got ", h0.sizes());
    check_numel(w_hh, 3 * L.H * L.H, "weight_hh", k);
    TORCH_CHECK(w_hh.numel() > 0, "lstmkit fused GRU: weight_hh is empty");
    check_numel(w.bias_hh, 3 * L.H, "bias_hh", k);
    check_numel(w.ln_hh_weight, 3 * L.H, "ln weight", k);
    check_numel(shift.ln_hh_bias, 3 * L.H, "ln bias", k);
    check_numel(w.ln_ih_weight, 3 * L.H, "ln_ih weight", k);
    check_numel(shift.ln_ih_bias, 3 * L.H, "ln_ih bias", k);
    check_numel(masks.rmask, L.B * L.H, "the recurrent-dropout mask", k);
    check_numel(masks.step_mask, L.T * L.B, "the step mask", k);
    check_numel(masks.keep_h, L.T * L.B * L.H, "the zoneout mask", k);
  }
  const bool ln = lnw != nullptr;
  const double zh = cfg.zoneout, eps = cfg.ln_eps;
  const int64_t T_ = L.T, B = L.B, H = L.H, G3 = 3 * H, ts = save ? 1 : 0, Ts = save ? T_ : 1;
  auto opts = gx.options();
  auto sized = [&](bool need, at::IntArrayRef shape) { return need ? pool_empty(shape, opts) : none_tensor(gx); };

  at::Tensor gates = pool_empty({Ts, B, G3}, opts);  // activations r|z|n (one step's when not saved)
  at::Tensor hs = pool_empty({T_ + 1, B, H}, opts);
  hs[0].copy_(h0);
  at::Tensor aux = sized(save || L.cho, {Ts, B, H});
  at::Tensor xhat = sized(ln, {Ts, B, G3}), rstd = sized(ln, {Ts, B, 3});
  at::Tensor xhat_ih = sized(lniw != nullptr, {Ts, B, G3}), rstd_ih = sized(lniw != nullptr, {Ts, B, 3});
  at::Tensor xn = sized(lniw != nullptr, {B, G3});  // this step's normalised input rows
  at::Tensor out = pool_empty({T_, B, H}, opts);
  at::Tensor gh = at::empty({B, G3}, opts), hin_buf = sized(rm != nullptr, {B, H});
  const T* W = w_hh.data_ptr<T>();

  over_slices(B, num_slices(B), [&](int64_t, int64_t b0, int64_t b1) {
    const int64_t M = b1 - b0;
    T* ghp = ptr<T>(gh) + b0 * G3;
    // h_in (M, H) times W^T, packed once per call: all gates (reset-after), or r|z then n (reset-before).
    const StepWeight<T> all(true, M, G3, H, L.cho ? nullptr : W, H), rz(true, M, 2 * H, H, L.cho ? W : nullptr, H);
    const StepWeight<T> n(true, M, H, H, L.cho ? W + 2 * H * H : nullptr, H);
    for (int64_t t = 0; t < T_; ++t) {
      const T* X = gx.data_ptr<T>() + t * B * G3;  // this step's input rows (normalised below with lniw)
      T* G = ptr<T>(gates) + t * ts * B * G3;
      const T* hprev = ptr<T>(hs) + t * B * H;
      T* hnext = ptr<T>(hs) + (t + 1) * B * H;
      T* o = ptr<T>(out) + t * B * H;
      T* A = (save || L.cho) ? ptr<T>(aux) + t * ts * B * H : nullptr;
      T* XH = ln ? ptr<T>(xhat) + t * ts * B * G3 : nullptr;
      T* RS = ln ? ptr<T>(rstd) + t * ts * B * 3 : nullptr;
      if (lniw) {
        T* XI = ptr<T>(xhat_ih) + t * ts * B * G3;
        T* RI = ptr<T>(rstd_ih) + t * ts * B * 3;
        for (int64_t b = b0; b < b1; ++b)
          input_norm(X + b * G3, ptr<T>(xn) + b * G3, XI + b * G3, RI + b * 3, lniw, lnib, H, eps);
        X = ptr<T>(xn);
      }
      const T* hin = hprev;
      if (rm) {
        T* hb = ptr<T>(hin_buf);
        for (int64_t k = b0 * H; k < b1 * H; ++k) hb[k] = hprev[k] * rm[k];
        hin = hb;
      }
      auto pass = [&](int phase) {
        for (int64_t b = b0; b < b1; ++b) {
          if (!row_masked(mask, t, B, b)) {
            FwdRow<T> r{X + b * G3, G + b * G3, ptr<T>(gh) + b * G3, hprev + b * H, hin + b * H,
                        A ? A + b * H : nullptr, hnext + b * H, XH ? XH + b * G3 : nullptr,
                        RS ? RS + b * 3 : nullptr, bias, lnw, lnb};
            forward_row(L, r, phase, eps);
            if (phase != CHO_RZ)
              finish_row<T>(kh ? kh + (t * B + b) * H : nullptr, zh, hprev + b * H, hnext + b * H, o + b * H, H);
          } else if (phase == CHO_RZ) {
            std::fill_n(A + b * H, H, T(0));  // q of a masked row: finite for the n-gate GEMM
          } else {  // masked step: state carried, output 0
            std::memcpy(hnext + b * H, hprev + b * H, sizeof(T) * H);
            std::fill_n(o + b * H, H, T(0));
          }
        }
      };
      if (!L.cho) {
        all.run(M, hin + b0 * H, H, T(0), ghp, G3);
        pass(AFTER);
      } else {
        rz.run(M, hin + b0 * H, H, T(0), ghp, G3);
        pass(CHO_RZ);
        n.run(M, A + b0 * H, H, T(0), ghp + 2 * H, G3);
        pass(CHO_N);
      }
    }
  });
  return {out, hs[T_].clone(), GruSaved{gates, aux, hs, xhat, rstd, xhat_ih, rstd_ih}.list()};
}

// Returns the gradients of gx, h0, weight_hh, bias_hh, ln_hh_weight, ln_ih_weight, ln_hh_bias,
// ln_ih_bias (undefined where the input was absent), the order of the schema's returns.
template <typename T>
Tensors<8> backward_impl(const OptTensor& d_output, const OptTensor& d_h_n, const GruSaved& s, const GruWeights& w,
                         const GruMasks& masks, const GruConfig& cfg) {
  const at::Tensor &gates = s.gates, &aux = s.aux, &hs = s.h_states, &xhat = s.xhat, &rstd = s.rstd;
  const at::Tensor &xhat_ih = s.xhat_ih, &rstd_ih = s.rstd_ih;
  const at::Tensor& w_hh = w.weight_hh;
  const T* lniw = opt_ptr<T>(w.ln_ih_weight);
  const T* lnw = opt_ptr<T>(w.ln_hh_weight);
  const T* rm = opt_ptr<T>(masks.rmask);
  const uint8_t* mask = opt_mask(masks.step_mask);
  const uint8_t* kh = opt_mask(masks.keep_h);
  const Layout L = make_layout(gates, hs[0], cfg);
  const bool ln = lnw != nullptr, bias = opt_ptr<T>(w.bias_hh) != nullptr;
  const double zh = cfg.zoneout;
  const int64_t T_ = L.T, B = L.B, H = L.H, G3 = 3 * H, ns = num_slices(B);
  auto opts = gates.options();

  at::Tensor dX = pool_empty({T_, B, G3}, opts), dGH = pool_empty({T_, B, G3}, opts);
  // A final state nothing depends on (None from autograd) has a zero gradient.
  at::Tensor dh = present(d_h_n) ? d_h_n->contiguous().clone() : at::zeros({B, H}, opts);
  at::Tensor dh_other = at::empty({B, H}, opts);
  at::Tensor dhnew = at::empty({B, H}, opts), dhin = at::empty({B, H}, opts), dq = at::empty({B, H}, opts);
  // Per-slice sums of the parameter gradients: layer-norm gain, shift, b_hh, input layer-norm gain, shift.
  at::Tensor dpar = (ln || bias || lniw) ? at::zeros({ns, 5, G3}, opts) : none_tensor(gates);
  const T* dO_base = present(d_output) ? d_output->data_ptr<T>() : nullptr;  // any strides (sum() gives stride 0)
  const int64_t st = dO_base ? d_output->stride(0) : 0, sb = dO_base ? d_output->stride(1) : 0;
  const int64_t sj = dO_base ? d_output->stride(2) : 0;
  const T* W = w_hh.data_ptr<T>();

  over_slices(B, ns, [&](int64_t s, int64_t b0, int64_t b1) {
    const int64_t M = b1 - b0;
    // dGH (M, 3H) times W, packed once per call: all gates (reset-after), or n to dq then r|z.
    const StepWeight<T> all(false, M, H, G3, L.cho ? nullptr : W, H), rz(false, M, H, 2 * H, L.cho ? W : nullptr, H);
    const StepWeight<T> n(false, M, H, H, L.cho ? W + 2 * H * H : nullptr, H);
    T* dht = ptr<T>(dh);       // gradient reaching h_{t+1}, rows [b0, b1)
    T* dhp = ptr<T>(dh_other);  // gradient reaching h_t, built by this step
    T* dhn = ptr<T>(dhnew);
    T* dp = (ln || bias || lniw) ? ptr<T>(dpar) + s * 5 * G3 : nullptr;
    std::vector<uint8_t> skip(B);
    for (int64_t t = T_ - 1; t >= 0; --t) {
      T* dXt = ptr<T>(dX) + t * B * G3;
      T* dGt = ptr<T>(dGH) + t * B * G3;
      // 1) through the step mask and zoneout, to this step's fresh state.
      for (int64_t b = b0; b < b1; ++b) {
        T* dh_b = dht + b * H;
        T* dn = dhn + b * H;
        T* dpv = dhp + b * H;
        skip[b] = row_masked(mask, t, B, b);
        if (skip[b]) {  // state carried: the gradient passes through; this step's output was 0
          std::memcpy(dpv, dh_b, sizeof(T) * H);
          std::fill_n(dXt + b * G3, G3, T(0));
          std::fill_n(dGt + b * G3, G3, T(0));
          continue;
        }
        if (dO_base) {
          const T* d = dO_base + t * st + b * sb;
          if (sj == 1) for (int64_t j = 0; j < H; ++j) dh_b[j] += d[j];
          else for (int64_t j = 0; j < H; ++j) dh_b[j] += d[j * sj];
        }
        zoneout_backward(kh ? kh + (t * B + b) * H : nullptr, zh, dh_b, dn, dpv, H);
      }
      // 2) through the gates, row by row, then the recurrent GEMM(s) to dh_in.
      const T* Gt = ptr<T>(gates) + t * B * G3;
      const T* hprev = ptr<T>(hs) + t * B * H;
      const T* At = L.cho ? nullptr : ptr<T>(aux) + t * B * H;
      T* dhi = rm ? ptr<T>(dhin) : dhp;  // without dropout dh_in is dh_prev's own share
      auto pass = [&](int phase) {
        for (int64_t b = b0; b < b1; ++b) {
          if (skip[b]) continue;
          BwdRow<T> r{Gt + b * G3, hprev + b * H, At ? At + b * H : nullptr, rm ? rm + b * H : nullptr,
                      dhn + b * H, dhp + b * H, dXt + b * G3, dGt + b * G3, ptr<T>(dq) + b * H, dhi + b * H,
                      rm == nullptr, ln ? ptr<T>(xhat) + (t * B + b) * G3 : nullptr,
                      ln ? ptr<T>(rstd) + (t * B + b) * 3 : nullptr, lnw, ln ? dp : nullptr,
                      ln ? dp + G3 : nullptr, (bias && !ln) ? dp + 2 * G3 : nullptr};
          backward_row(L, r, phase);
        }
      };
      if (!L.cho) {
        pass(AFTER);
        all.run(M, dGt + b0 * G3, G3, rm ? T(0) : T(1), dhi + b0 * H, H);
      } else {
        pass(CHO_N);
        n.run(M, dGt + b0 * G3 + 2 * H, G3, T(0), ptr<T>(dq) + b0 * H, H);
        if (rm) for (int64_t b = b0; b < b1; ++b) if (skip[b]) std::fill_n(dhi + b * H, H, T(0));
        pass(CHO_RZ);
        rz.run(M, dGt + b0 * G3, G3, T(1), dhi + b0 * H, H);
      }
      if (rm)
        for (int64_t k = b0 * H; k < b1 * H; ++k) dhp[k] += dhi[k] * rm[k];
      if (lniw) {  // back through the input layer norm: dX becomes the raw projection's gradient
        const T* XI = ptr<T>(xhat_ih) + t * B * G3;
        const T* RI = ptr<T>(rstd_ih) + t * B * 3;
        for (int64_t b = b0; b < b1; ++b)
          if (!skip[b]) input_norm_backward(dXt + b * G3, XI + b * G3, RI + b * 3, lniw, dp + 3 * G3, dp + 4 * G3, H);
      }
      std::swap(dht, dhp);
    }
  });
  at::Tensor dh0 = T_ % 2 == 0 ? dh : dh_other;  // every slice swapped its buffers T times
  // Weight gradients: one GEMM each over all T*B rows. Reset-before's n rows saw q = r * h_in.
  at::Tensor hin_all = hs.narrow(0, 0, T_);
  if (rm) hin_all = hin_all * masks.rmask->unsqueeze(0);
  hin_all = hin_all.contiguous();
  at::Tensor dW = at::zeros({G3, H}, opts);
  const int64_t N = T_ * B;
  if (N > 0) {
    const T* dg = ptr<T>(dGH);
    if (!L.cho) {
      gemm<T>(true, false, G3, H, N, T(1), dg, G3, ptr<T>(hin_all), H, T(0), ptr<T>(dW), H);
    } else {
      gemm<T>(true, false, 2 * H, H, N, T(1), dg, G3, ptr<T>(hin_all), H, T(0), ptr<T>(dW), H);
      gemm<T>(true, false, H, H, N, T(1), dg + 2 * H, G3, ptr<T>(aux), H, T(0), ptr<T>(dW) + 2 * H * H, H);
    }
  }
  // Without layer norm b_hh is added after the GEMM, so its gradient is that of the GEMM output.
  auto part = [&](bool need, int64_t k) { return need ? dpar.select(1, k).sum(0) : at::Tensor(); };
  return {dX, dh0, dW, part(bias && !ln, 2), part(ln, 0), part(lniw != nullptr, 3), part(ln, 1),
          part(lniw != nullptr, 4)};
}

}  // namespace

std::tuple<at::Tensor, at::Tensor, std::vector<at::Tensor>> gru_forward(
    const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& weight_hh, const OptTensor& bias_hh,
    const OptTensor& ln_hh_weight, const OptTensor& ln_ih_weight, const OptTensor& ln_hh_bias,
    const OptTensor& ln_ih_bias, const OptTensor& rmask, const OptTensor& step_mask, const OptTensor& keep_h,
    bool reset_after, c10::string_view gate_activation, c10::string_view activation, double zoneout, double ln_eps,
    bool save) {
  TORCH_CHECK(gx.is_contiguous() && h0.is_contiguous() && weight_hh.is_contiguous(),
              "lstmkit fused GRU: inputs must be contiguous");
  TORCH_CHECK(gx.device().is_cpu(), "lstmkit fused GRU runs on CPU tensors");
  TORCH_CHECK(gx.dim() == 3, "lstmkit fused GRU: gx must be (T, batch, 3H), got ", gx.sizes());
  const GruWeights w{weight_hh, bias_hh, ln_hh_weight, ln_ih_weight};
  const GruShifts shift{ln_hh_bias, ln_ih_bias};
  const GruMasks masks{rmask, step_mask, keep_h};
  const GruConfig cfg{reset_after, parse_act(gate_activation), parse_act(activation), zoneout, ln_eps};
  if (gx.scalar_type() == at::kDouble) return forward_impl<double>(gx, h0, w, shift, masks, cfg, save);
  TORCH_CHECK(gx.scalar_type() == at::kFloat, "lstmkit fused GRU supports float32 and float64, got ",
              gx.scalar_type());
  return forward_impl<float>(gx, h0, w, shift, masks, cfg, save);
}

Tensors<8> gru_backward(const OptTensor& d_output, const OptTensor& d_h_n, at::TensorList saved,
                        const at::Tensor& weight_hh, const OptTensor& bias_hh, const OptTensor& ln_hh_weight,
                        const OptTensor& ln_ih_weight, const OptTensor& rmask, const OptTensor& step_mask,
                        const OptTensor& keep_h, bool reset_after, c10::string_view gate_activation,
                        c10::string_view activation, double zoneout, double ln_eps) {
  const GruSaved s = GruSaved::from(saved);
  const GruWeights w{weight_hh, bias_hh, ln_hh_weight, ln_ih_weight};
  const GruMasks masks{rmask, step_mask, keep_h};
  const GruConfig cfg{reset_after, parse_act(gate_activation), parse_act(activation), zoneout, ln_eps};
  if (s.gates.scalar_type() == at::kDouble) return backward_impl<double>(d_output, d_h_n, s, w, masks, cfg);
  return backward_impl<float>(d_output, d_h_n, s, w, masks, cfg);
}

}  // namespace lstmkit

// Both passes' schemas, every argument named: Python passes them as keywords (fused_gru.py). The
// forward pass alone takes the layer norms' shifts and, with `save`, keeps what the backward pass
// needs in `saved` (a GruSaved).
#define LSTMKIT_GRU_WEIGHTS                                                                        \
  "Tensor weight_hh, *, Tensor? bias_hh=None, Tensor? ln_hh_weight=None, Tensor? ln_ih_weight=None, "
#define LSTMKIT_GRU_MASKS_AND_SWITCHES                                                             \
  "Tensor? rmask=None, Tensor? step_mask=None, Tensor? keep_h=None, bool reset_after=True, "      \
  "str gate_activation=\"sigmoid\", str activation=\"tanh\", float zoneout=0., float ln_eps=1e-05"

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("gru_forward(Tensor gx, Tensor h0, " LSTMKIT_GRU_WEIGHTS
        "Tensor? ln_hh_bias=None, Tensor? ln_ih_bias=None, " LSTMKIT_GRU_MASKS_AND_SWITCHES
        ", bool save=False) -> (Tensor output, Tensor h_n, Tensor[] saved)",
        &lstmkit::gru_forward);
  m.def("gru_backward(Tensor? d_output, Tensor? d_h_n, Tensor[] saved, " LSTMKIT_GRU_WEIGHTS
        LSTMKIT_GRU_MASKS_AND_SWITCHES
        ") -> (Tensor d_gx, Tensor d_h0, Tensor d_weight_hh, Tensor d_bias_hh, Tensor d_ln_hh_weight, "
        "Tensor d_ln_ih_weight, Tensor d_ln_hh_bias, Tensor d_ln_ih_bias)",
        &lstmkit::gru_backward);
}
