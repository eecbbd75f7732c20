// The fused GRU ops' arguments, by name (as lstm_args.h for the LSTM): lstmkit/kernels/fused_gru.py
// passes them as keywords to torch.ops.lstmkit.gru_forward / gru_backward, whose schemas (bottom of
// gru.cpp) name every one after the parameters of lstmkit.nn.GRU and lstmkit.cells.spec.GRUSpec.
#pragma once

#include "common.h"

#include <tuple>
#include <vector>

namespace lstmkit {

// The parameters both passes read (absent ones nullopt). Without layer norm bias_hh is added
// after the recurrent GEMM; with it, it rides in ln_hh_bias and bias_hh is absent.
struct GruWeights {
  at::Tensor weight_hh;
  c10::optional<at::Tensor> bias_hh, ln_hh_weight, ln_ih_weight;
};

// The layer norms' shifts, read by the forward pass only (ln_ih_bias carries bias_ih).
struct GruShifts {
  c10::optional<at::Tensor> ln_hh_bias, ln_ih_bias;
};

struct GruMasks {
  c10::optional<at::Tensor> rmask;      // (B, H): recurrent dropout, multiplies h entering the GEMM
  c10::optional<at::Tensor> step_mask;  // (T, B) uint8: 0 = a step this sequence does not have
  c10::optional<at::Tensor> keep_h;     // (T, B, H) uint8: training zoneout, 1 keeps the previous state
};

struct GruConfig {
  bool reset_after;  // torch/cuDNN: r * (U_n h + b_n); false: Cho et al., U_n (r * h) ("gru_cho")
  Act gate_act, act;
  double zoneout;  // the eval-mode rate, used where keep_h is absent
  double ln_eps;
};

// What gru_forward keeps for gru_backward: its `saved` list, which Python hands back unread.
struct GruSaved {
  at::Tensor gates;     // (T, B, 3H) activations r|z|n
  at::Tensor aux;       // (T, B, H): U_n h_in + b_n (reset-after) or r * h_in (reset-before)
  at::Tensor h_states;  // (T+1, B, H), [0] = h0
  at::Tensor xhat, rstd, xhat_ih, rstd_ih;  // layer norms (empty without)

  std::vector<at::Tensor> list() const { return {gates, aux, h_states, xhat, rstd, xhat_ih, rstd_ih}; }
  static GruSaved from(at::TensorList s) {
    TORCH_CHECK(s.size() == 7, "lstmkit fused GRU: `saved` must be gru_forward's own list of 7, got ", s.size());
    return {s[0], s[1], s[2], s[3], s[4], s[5], s[6]};
  }
};

}  // namespace lstmkit
