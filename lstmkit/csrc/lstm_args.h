// The fused LSTM ops' arguments, by name. lstmkit/kernels/fused.py passes them as keywords to
// torch.ops.lstmkit.lstm_forward / lstm_backward, whose schemas (bottom of lstm.cpp) name every
// one; the op entry points gather them into these structs for the kernels. Names follow the
// parameters of lstmkit.nn.LSTM and lstmkit.cells.spec.LSTMSpec, so a setting such as
// recurrent_dropout (-> rmask) or zoneout (-> keep_h / zoneout_h) can be followed by name from
// the layer down to the loop that uses it.
#pragma once

#include "common.h"

#include <tuple>
#include <vector>

namespace lstmkit {

// The parameters both passes read (absent ones nullopt). weight_peephole is (S, H): one row per
// sigmoid gate in storage order i|f|o.
struct LstmWeights {
  at::Tensor weight_hh;
  c10::optional<at::Tensor> weight_peephole, weight_hr, weight_fgr;
  c10::optional<at::Tensor> ln_hh_weight, ln_c_weight, ln_ih_weight;
};

// The layer norms' shifts, read by the forward pass only. ln_hh_bias and ln_ih_bias carry the
// layer's bias_hh / bias_ih folded in (both are added after the norm).
struct LstmShifts {
  c10::optional<at::Tensor> ln_hh_bias, ln_c_bias, ln_ih_bias;
};

struct LstmMasks {
  c10::optional<at::Tensor> rmask;           // (B, R): recurrent dropout, multiplies h entering the GEMM
  c10::optional<at::Tensor> step_mask;       // (T, B) uint8: 0 = a step this sequence does not have
  c10::optional<at::Tensor> keep_h, keep_c;  // (T, B, R) / (T, B, H) uint8: training zoneout, 1 keeps
};

// The switches both passes share.
struct LstmConfig {
  bool input_gate, forget_gate, output_gate;  // whether the gate has rows (CIFG's f = 1 - i has none)
  bool coupled;                               // CIFG: f = 1 - i
  Act gate_act, input_act, output_act;        // sigmoid gates, candidate, cell output
  double zoneout_h, zoneout_c;                // eval-mode zoneout rates, used where keep_h / keep_c are absent
  double ln_eps;
  bool bf16;  // matmul_precision="bf16": bfloat16 recurrent products and weight gradients
};

inline LstmConfig make_lstm_config(bool input_gate, bool forget_gate, bool output_gate, bool coupled,
                                   c10::string_view gate_activation, c10::string_view input_activation,
                                   c10::string_view output_activation, double zoneout_h, double zoneout_c,
                                   double ln_eps, bool bf16) {
  return {input_gate, forget_gate, output_gate, coupled, parse_act(gate_activation), parse_act(input_activation),
          parse_act(output_activation), zoneout_h, zoneout_c, ln_eps, bf16};
}

// What lstm_forward keeps for lstm_backward: its `saved` list, which Python hands back unread.
// Buffers a configuration does not use are empty tensors.
struct LstmSaved {
  at::Tensor gates;               // (T, B, G*H) gate activations
  at::Tensor cnew, y;             // (T, B, H) cell state before zoneout / masks, and out_act of it
  at::Tensor c_states, h_states;  // (T+1, B, H) / (T+1, B, R), [0] = c0 / h0
  at::Tensor m;                   // (T, B, H) o * y, kept with a projection
  at::Tensor xhat_hh, rstd_hh, xhat_c, rstd_c, a_states, xhat_ih, rstd_ih;

  std::vector<at::Tensor> list() const {
    return {gates, cnew, y, c_states, h_states, m, xhat_hh, rstd_hh, xhat_c, rstd_c, a_states, xhat_ih, rstd_ih};
  }
  static LstmSaved from(at::TensorList s) {
    TORCH_CHECK(s.size() == 13, "lstmkit fused LSTM: `saved` must be lstm_forward's own list of 13, got ", s.size());
    return {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12]};
  }
};

// lstm_backward's results, in the order of its schema's named returns (lstm.cpp).
using LstmGrads = Tensors<15>;

std::tuple<at::Tensor, at::Tensor, at::Tensor, std::vector<at::Tensor>> lstm_forward(
    const at::Tensor& gx, const at::Tensor& h0, const at::Tensor& c0, const at::Tensor& weight_hh,
    const OptTensor& weight_peephole, const OptTensor& weight_hr, const OptTensor& weight_fgr,
    const OptTensor& ln_hh_weight, const OptTensor& ln_c_weight, const OptTensor& ln_ih_weight,
    const OptTensor& ln_hh_bias, const OptTensor& ln_c_bias, const OptTensor& ln_ih_bias, const OptTensor& rmask,
    const OptTensor& step_mask, const OptTensor& keep_h, const OptTensor& keep_c, bool input_gate,
    bool forget_gate, bool output_gate, bool coupled, c10::string_view gate_activation,
    c10::string_view input_activation, c10::string_view output_activation, double zoneout_h, double zoneout_c,
    double ln_eps, bool bf16, bool save, bool inplace);

LstmGrads lstm_backward(const OptTensor& d_output, const OptTensor& d_h_n, const OptTensor& d_c_n,
                        at::TensorList saved, const at::Tensor& weight_hh, const OptTensor& weight_peephole,
                        const OptTensor& weight_hr, const OptTensor& weight_fgr, const OptTensor& ln_hh_weight,
                        const OptTensor& ln_c_weight, const OptTensor& ln_ih_weight, const OptTensor& rmask,
                        const OptTensor& step_mask, const OptTensor& keep_h, const OptTensor& keep_c,
                        bool input_gate, bool forget_gate, bool output_gate, bool coupled,
                        c10::string_view gate_activation, c10::string_view input_activation,
                        c10::string_view output_activation, double zoneout_h, double zoneout_c, double ln_eps,
                        bool bf16);

}  // namespace lstmkit
