// The threaded (one parallel region per call) path of the fused LSTM; see lstm_team.cpp.
#pragma once

#include "lstm_rows.h"

namespace lstmkit {

struct TeamFwd {
  float* gates;  // (T, B, G*H): gx in, activations out
  float* hs;     // (T+1, B, R) states, hs[0] = h0
  float* cs;     // (T+1, B, H)
  float* cnew;   // (T or 1, B, H)
  float* y;      // (T or 1, B, H)
  float* m;      // (B, H) scratch
  float* out;    // (T, B, R)
  const float* w_hh;
  const float* peep;
  const float* rmask;
  const uint8_t* mask;
  const uint8_t* keep_h;
  const uint8_t* keep_c;
  double zh, zc;
  int64_t step_stride;  // 1 when per-step buffers hold every step (saved for backward), else 0
};

struct TeamBwd {
  const float* gates;
  const float* cs;
  const float* cnew;
  const float* y;
  const float* dout;  // (T, B, R) or nullptr
  const float* dhT;
  const float* dcT;
  const float* w_hh;
  const float* peep;
  const float* rmask;
  const uint8_t* mask;
  const uint8_t* keep_h;
  const uint8_t* keep_c;
  double zh, zc;
  float* dG;     // (T, B, G*H) out
  float* dpeep;  // (S, H) accumulated, or nullptr
  float* dh0;    // (B, R) out
  float* dc0;    // (B, H) out
};

bool team_eligible(const Layout& L);
void team_forward(const Layout& L, const TeamFwd& a);
void team_backward(const Layout& L, const TeamBwd& a);

}  // namespace lstmkit
