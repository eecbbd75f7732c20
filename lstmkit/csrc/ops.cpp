// Build facts of the fused-kernel library, for `lstmkit.kernels.fused.info()` and the benchmarks.
#include <torch/library.h>

#include <string>

#include "microkernel.h"

namespace lstmkit {

std::string build_info() {
  std::string s = "gemm=";
#ifdef LSTMKIT_USE_MKL
  s += "mkl";
#else
  s += "aten";
#endif
  s += " isa=";
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    s += "avx512";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    s += "avx2";
  else
    s += "x86-64";
#else
  s += "generic";
#endif
  s += std::string(" microkernel=") + (microkernel_available() ? "avx512" : "off") +
       (microkernel_bf16_available() ? "+bf16" : "");
  return s;
}

}  // namespace lstmkit

TORCH_LIBRARY_FRAGMENT(lstmkit, m) { m.def("build_info() -> str", &lstmkit::build_info); }
