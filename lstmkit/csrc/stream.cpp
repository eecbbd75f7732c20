// A plain stacked LSTM or GRU for streaming and small-batch inference: one time step at a time
// for generation and online prediction (`lstmkit.nn.LSTM.step` / `GRU.step`), and whole
// batch-1-sized sequences without gradients (bound in lstmkit/kernels/stream.py).
//
// At batch 1 a step is one matrix-vector product per layer: every weight is read once per step
// and the arithmetic is tiny, so what costs is the weights' trip from cache and the per-call
// overhead of a framework (torch.nn.LSTM called per step dispatches several GEMMs and pointwise
// ops per layer). Here the weights are packed once (the binding caches them across calls) in
// blocks of 16 hidden units: block p holds, for every input index k, the G gates' 16 columns
// side by side, (K, G*16), so one pass over k feeds G accumulators per batch row and the
// pointwise step of those 16 units runs right after on the values just computed. The blocks
// are split between the threads the same way on every call, so each core keeps its share of
// the weights in its own L2 cache; the layers meet at one barrier each (the next layer needs
// the whole h). The gate equations are torch.nn's (and lstmkit/cells' "lstm" / "gru" specs):
//   LSTM: i, f, o = sigmoid(.), g = tanh(.), c' = f c + i g, h' = o tanh(c')
//   GRU:  r, z = sigmoid(x_r + h_r), n = tanh(x_n + r h_n), h' = (1 - z) n + z h
#include <omp.h>
#include <torch/library.h>

#include <vector>

#include "common.h"
#include "microkernel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LSTMKIT_HAVE_STREAM_AVX512 1
#endif

namespace lstmkit {

namespace {

constexpr int64_t kBlock = 16;                       // hidden units per block (one zmm)
constexpr int64_t kRows = 4;                         // batch rows per register tile
constexpr int64_t kParallelBytes = 384 * 1024;       // below this much weight, one thread is faster

// acc (BR, G*16) = bias + X (BR rows, ldx) . W (K, G*16), portable version.
template <int G>
void block_gemv_portable(int64_t BR, int64_t K, const float* X, int64_t ldx, const float* W, const float* bias,
                         float* acc) {
  for (int64_t b = 0; b < BR; ++b) {
    float* a = acc + b * G * kBlock;
    for (int64_t j = 0; j < G * kBlock; ++j) a[j] = bias[j];
    for (int64_t k = 0; k < K; ++k) {
      const float xv = X[b * ldx + k];
      const float* w = W + k * G * kBlock;
      for (int64_t j = 0; j < G * kBlock; ++j) a[j] += xv * w[j];
    }
  }
}

#ifdef LSTMKIT_HAVE_STREAM_AVX512
// The same on AVX-512: BR (1..4) rows x G zmm accumulators; one row gets two k-chains so the
// FMA latency is hidden at batch 1 too.
template <int BR, int G>
__attribute__((target("avx512f"))) void tile_avx512(int64_t K, const float* X, int64_t ldx, const float* W,
                                                    const float* bias, float* acc) {
  constexpr int C = BR == 1 ? 2 : 1;  // k-chains per row
  __m512 a[C][BR][G];
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < BR; ++b)
      for (int g = 0; g < G; ++g) a[c][b][g] = c == 0 ? _mm512_loadu_ps(bias + g * kBlock) : _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + C <= K; k += C) {
    for (int c = 0; c < C; ++c) {
      const float* w = W + (k + c) * G * kBlock;
      __m512 wv[G];
      for (int g = 0; g < G; ++g) wv[g] = _mm512_loadu_ps(w + g * kBlock);
      for (int b = 0; b < BR; ++b) {
        const __m512 xv = _mm512_set1_ps(X[b * ldx + k + c]);
        for (int g = 0; g < G; ++g) a[c][b][g] = _mm512_fmadd_ps(xv, wv[g], a[c][b][g]);
      }
    }
  }
  for (; k < K; ++k) {
    const float* w = W + k * G * kBlock;
    for (int b = 0; b < BR; ++b) {
      const __m512 xv = _mm512_set1_ps(X[b * ldx + k]);
      for (int g = 0; g < G; ++g) a[0][b][g] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + g * kBlock), a[0][b][g]);
    }
  }
  for (int b = 0; b < BR; ++b)
    for (int g = 0; g < G; ++g) {
      __m512 s = a[0][b][g];
      if (C == 2) s = _mm512_add_ps(s, a[C - 1][b][g]);
      _mm512_storeu_ps(acc + (b * G + g) * kBlock, s);
    }
}

bool use_avx512() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0 && !microkernel_disabled();
  }();
  return ok;
}
#endif

template <int G>
void block_gemv(int64_t BR, int64_t K, const float* X, int64_t ldx, const float* W, const float* bias, float* acc) {
#ifdef LSTMKIT_HAVE_STREAM_AVX512
  if (use_avx512()) {
    switch (BR) {
      case 1: return tile_avx512<1, G>(K, X, ldx, W, bias, acc);
      case 2: return tile_avx512<2, G>(K, X, ldx, W, bias, acc);
      case 3: return tile_avx512<3, G>(K, X, ldx, W, bias, acc);
      default: return tile_avx512<4, G>(K, X, ldx, W, bias, acc);
    }
  }
#endif
  block_gemv_portable<G>(BR, K, X, ldx, W, bias, acc);
}

// Pointwise on `n` (<= 16) units of one row; ax / ah: the G gate pre-activations from x and h.
LSTMKIT_CLONES void lstm_pointwise(const float* ax, const float* ah, const float* c, float* h_out, float* c_out,
                                   int64_t n) {
  float cn[kBlock], hn[kBlock];
  for (int64_t u = 0; u < kBlock; ++u) {
    const float i = sigmoid_(ax[u] + ah[u]);
    const float f = sigmoid_(ax[kBlock + u] + ah[kBlock + u]);
    const float g = tanh_(ax[2 * kBlock + u] + ah[2 * kBlock + u]);
    const float o = sigmoid_(ax[3 * kBlock + u] + ah[3 * kBlock + u]);
    cn[u] = f * (u < n ? c[u] : 0.f) + i * g;
    hn[u] = o * tanh_(cn[u]);
  }
  for (int64_t u = 0; u < n; ++u) {
    c_out[u] = cn[u];
    h_out[u] = hn[u];
  }
}

LSTMKIT_CLONES void gru_pointwise(const float* ax, const float* ah, const float* h, float* h_out, int64_t n) {
  float hn[kBlock];
  for (int64_t u = 0; u < kBlock; ++u) {
    const float r = sigmoid_(ax[u] + ah[u]);
    const float z = sigmoid_(ax[kBlock + u] + ah[kBlock + u]);
    const float nn = tanh_(ax[2 * kBlock + u] + r * ah[2 * kBlock + u]);
    hn[u] = (1.f - z) * nn + z * (u < n ? h[u] : 0.f);
  }
  for (int64_t u = 0; u < n; ++u) h_out[u] = hn[u];
}

struct LayerArgs {
  int64_t K_in, H, blocks;
  const float *wx, *wh, *bx, *bh;  // (blocks, K_in, G*16), (blocks, H, G*16), (blocks, G*16) x2
  float* h[2];                     // ping-pong h (B, H): step t reads h[t % 2], writes h[(t + 1) % 2]
  float* c;                        // (B, H), updated in place (each unit is read and written by one thread)
};

// Blocks [p0, p1) of one layer at one step for every batch row; x is the layer's input (B, K_in).
template <int G>
void run_blocks(const LayerArgs& L, int64_t B, const float* x, int64_t t, int64_t p0, int64_t p1) {
  float ax[kRows * G * kBlock], ah[kRows * G * kBlock];
  const int64_t GB = G * kBlock;
  const float* hp = L.h[t % 2];
  float* hn = L.h[(t + 1) % 2];
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t u0 = p * kBlock, n = std::min(kBlock, L.H - u0);
    for (int64_t b0 = 0; b0 < B; b0 += kRows) {
      const int64_t br = std::min(kRows, B - b0);
      block_gemv<G>(br, L.K_in, x + b0 * L.K_in, L.K_in, L.wx + p * L.K_in * GB, L.bx + p * GB, ax);
      block_gemv<G>(br, L.H, hp + b0 * L.H, L.H, L.wh + p * L.H * GB, L.bh + p * GB, ah);
      for (int64_t r = 0; r < br; ++r) {
        const int64_t row = (b0 + r) * L.H + u0;
        if (G == 4)
          lstm_pointwise(ax + r * GB, ah + r * GB, L.c + row, hn + row, L.c + row, n);
        else
          gru_pointwise(ax + r * GB, ah + r * GB, hp + row, hn + row, n);
      }
    }
  }
}

void check_layer(const char* op, const at::Tensor& t, std::initializer_list<int64_t> shape, const char* what,
                 int64_t layer) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.is_contiguous() && t.device().is_cpu(), op, ": ", what, "[", layer,
              "] must be a contiguous float32 CPU tensor");
  TORCH_CHECK(t.sizes().equals(shape), op, ": ", what, "[", layer, "] has shape ", t.sizes(), ", expected ",
              at::IntArrayRef(shape));
}

// Layer l's packed weights, checked against its sizes, with its state pointers: the one place
// both entry points (stream_forward, stream_step) build a layer. Adds its weight traffic per
// step to `weight_bytes` (the weights are read once per kRows batch rows).
LayerArgs packed_layer(const char* op, int64_t l, int64_t K_in, int64_t H, int64_t B, int64_t gates,
                       at::TensorList wx, at::TensorList wh, at::TensorList bx, at::TensorList bh, float* h_prev,
                       float* h_next, float* c, int64_t& weight_bytes) {
  const int64_t blocks = (H + kBlock - 1) / kBlock, GB = gates * kBlock;
  check_layer(op, wx[l], {blocks, K_in, GB}, "wx", l);
  check_layer(op, wh[l], {blocks, H, GB}, "wh", l);
  check_layer(op, bx[l], {blocks, GB}, "bx", l);
  check_layer(op, bh[l], {blocks, GB}, "bh", l);
  weight_bytes += (wx[l].numel() + wh[l].numel()) * 4 * ((B + kRows - 1) / kRows);
  return {K_in, H, blocks, wx[l].data_ptr<float>(), wh[l].data_ptr<float>(), bx[l].data_ptr<float>(),
          bh[l].data_ptr<float>(), {h_prev, h_next}, c};
}

// Threads for a call: one below kParallelBytes of weights (or inside a parallel region), else
// as many as torch's and the blocks of the narrowest layer allow.
int threads_for(int64_t weight_bytes, int64_t min_blocks) {
  return (weight_bytes < kParallelBytes || omp_in_parallel())
             ? 1
             : (int)std::min<int64_t>(at::get_num_threads(), min_blocks);
}

// T steps of the stack over x0 (T, B, K_in of layer 0): the last layer's h at every step into
// y (T, B, H_last). One parallel region; the threads meet once per layer per step.
void run_stack(const std::vector<LayerArgs>& layers, int64_t T, int64_t B, const float* x0, float* y, int nt,
               int64_t gates) {
  if (B == 0 || T == 0) return;
  const int64_t n_layers = (int64_t)layers.size();
#pragma omp parallel num_threads(nt)
  {
    const int j = omp_get_thread_num(), n = omp_get_num_threads();
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t l = 0; l < n_layers; ++l) {
        const LayerArgs& L = layers[l];
        const float* in = l == 0 ? x0 + t * B * L.K_in : layers[l - 1].h[(t + 1) % 2];
        const int64_t p0 = L.blocks * j / n, p1 = L.blocks * (j + 1) / n;
        if (gates == 4)
          run_blocks<4>(L, B, in, t, p0, p1);
        else
          run_blocks<3>(L, B, in, t, p0, p1);
        if (l == n_layers - 1) {  // this thread's units of the output row
          const int64_t u0 = std::min(L.H, p0 * kBlock), u1 = std::min(L.H, p1 * kBlock);
          const float* hn = L.h[(t + 1) % 2];
          for (int64_t b = 0; b < B; ++b)
            std::memcpy(y + (t * B + b) * L.H + u0, hn + b * L.H + u0, sizeof(float) * (u1 - u0));
        }
#pragma omp barrier
      }
    }
  }
}

}  // namespace

// A unidirectional stack over x (T, B, I): the last layer's h at every step (T, B, H_last) and
// every layer's final h (and c for the LSTM). `gates`: 4 (LSTM) or 3 (GRU). One parallel region
// for the whole call; the threads meet once per layer per step.
std::tuple<at::Tensor, std::vector<at::Tensor>, std::vector<at::Tensor>> stream_forward(
    const at::Tensor& x, at::TensorList h0, at::TensorList c0, at::TensorList wx, at::TensorList wh,
    at::TensorList bx, at::TensorList bh, int64_t gates) {
  TORCH_CHECK(gates == 3 || gates == 4, "stream_forward: gates must be 3 (GRU) or 4 (LSTM), got ", gates);
  const int64_t n_layers = (int64_t)h0.size();
  TORCH_CHECK(n_layers >= 1 && (int64_t)wx.size() == n_layers && (int64_t)wh.size() == n_layers &&
                  (int64_t)bx.size() == n_layers && (int64_t)bh.size() == n_layers &&
                  (int64_t)c0.size() == (gates == 4 ? n_layers : 0),
              "stream_forward: one h0 (and c0 for the LSTM), wx, wh, bx, bh per layer");
  TORCH_CHECK(x.dim() == 3 && x.scalar_type() == at::kFloat && x.is_contiguous() && x.device().is_cpu(),
              "stream_forward: x must be a contiguous (T, batch, input_size) float32 CPU tensor");
  const int64_t T = x.size(0), B = x.size(1);
  std::vector<at::Tensor> bufs, c_out;
  std::vector<LayerArgs> layers;
  int64_t K_in = x.size(2), weight_bytes = 0, min_blocks = INT64_MAX;
  for (int64_t l = 0; l < n_layers; ++l) {
    const int64_t H = h0[l].size(-1);
    check_layer("stream_forward", h0[l], {B, H}, "h0", l);
    if (gates == 4) check_layer("stream_forward", c0[l], {B, H}, "c0", l);
    at::Tensor buf = at::empty({2, B, H}, x.options());
    buf[0].copy_(h0[l]);
    bufs.push_back(buf);
    if (gates == 4) c_out.push_back(c0[l].clone());
    float* hb = buf.data_ptr<float>();
    layers.push_back(packed_layer("stream_forward", l, K_in, H, B, gates, wx, wh, bx, bh, hb, hb + B * H,
                                  gates == 4 ? c_out.back().data_ptr<float>() : nullptr, weight_bytes));
    min_blocks = std::min(min_blocks, layers.back().blocks);
    K_in = H;
  }
  at::Tensor out = at::empty({T, B, layers.back().H}, x.options());
  run_stack(layers, T, B, x.data_ptr<float>(), out.data_ptr<float>(), threads_for(weight_bytes, min_blocks), gates);
  std::vector<at::Tensor> h_out;
  for (auto& buf : bufs) h_out.push_back(buf[T % 2].clone());
  return {out, h_out, c_out};
}

// One step of a stack with equal hidden sizes, states stacked as torch.nn keeps them:
// x (B, I), h0 / c0 (L, B, H) -> (output (B, H), h_n, c_n (L, B, H); c_n empty for the GRU).
// The generation loop's call: one op, no per-layer tensors on the Python side.
std::tuple<at::Tensor, at::Tensor, at::Tensor> stream_step(const at::Tensor& x, const at::Tensor& h0,
                                                           const at::Tensor& c0, at::TensorList wx, at::TensorList wh,
                                                           at::TensorList bx, at::TensorList bh, int64_t gates) {
  // Called once per generated token: no per-layer tensors, no ping-pong buffers. Each layer
  // reads its h from h0 and writes h_n (distinct memory), c is updated in place in c_n (a copy
  // of c0), and the last layer's h is copied into the output.
  TORCH_CHECK(gates == 3 || gates == 4, "stream_step: gates must be 3 (GRU) or 4 (LSTM), got ", gates);
  TORCH_CHECK(x.dim() == 2 && h0.dim() == 3, "stream_step: x must be (batch, input_size) and h0 (layers, batch, hidden)");
  const int64_t n_layers = h0.size(0), B = h0.size(1), H = h0.size(2);
  const int64_t blocks = (H + kBlock - 1) / kBlock;
  TORCH_CHECK(x.size(0) == B, "stream_step: x has batch ", x.size(0), ", h0 has batch ", B);
  TORCH_CHECK(x.scalar_type() == at::kFloat && h0.scalar_type() == at::kFloat && x.device().is_cpu() &&
                  h0.device().is_cpu(),
              "stream_step: x and h0 must be float32 CPU tensors");
  TORCH_CHECK(n_layers >= 1 && (int64_t)wx.size() == n_layers && (int64_t)wh.size() == n_layers &&
                  (int64_t)bx.size() == n_layers && (int64_t)bh.size() == n_layers,
              "stream_step: one wx, wh, bx, bh per layer of h0");
  const at::Tensor xc = x.contiguous(), hc = h0.contiguous();
  at::Tensor h_n = at::empty_like(hc), c_n = at::empty({0}, x.options());
  if (gates == 4) {
    TORCH_CHECK(c0.sizes() == h0.sizes() && c0.scalar_type() == at::kFloat,
                "stream_step: c0 must be float32 with h0's shape ", h0.sizes(), ", got ", c0.sizes());
    c_n = c0.contiguous().clone();
  }
  std::vector<LayerArgs> layers;
  layers.reserve(n_layers);
  int64_t K_in = x.size(1), weight_bytes = 0;
  float* hp = hc.data_ptr<float>();
  float* hn = h_n.data_ptr<float>();
  for (int64_t l = 0; l < n_layers; ++l) {
    layers.push_back(packed_layer("stream_step", l, K_in, H, B, gates, wx, wh, bx, bh, hp + l * B * H,
                                  hn + l * B * H, gates == 4 ? c_n.data_ptr<float>() + l * B * H : nullptr,
                                  weight_bytes));
    K_in = H;
  }
  at::Tensor out = at::empty({B, H}, x.options());
  run_stack(layers, 1, B, xc.data_ptr<float>(), out.data_ptr<float>(), threads_for(weight_bytes, blocks), gates);
  return {out, h_n, c_n};
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) {
  m.def("stream_forward(Tensor x, Tensor[] h0, Tensor[] c0, Tensor[] wx, Tensor[] wh, Tensor[] bx, Tensor[] bh, "
        "int gates) -> (Tensor output, Tensor[] h_n, Tensor[] c_n)",
        &lstmkit::stream_forward);
  m.def("stream_step(Tensor x, Tensor h0, Tensor c0, Tensor[] wx, Tensor[] wh, Tensor[] bx, Tensor[] bh, "
        "int gates) -> (Tensor output, Tensor h_n, Tensor c_n)",
        &lstmkit::stream_step);
}
