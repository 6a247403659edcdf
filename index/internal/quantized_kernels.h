// Per-ISA quantised-code kernel tables, each defined in its own translation unit compiled with
// that ISA's flags. Only quantized_distance.cc calls these, after checking the CPU.
#pragma once

#include "index/quantized_distance.h"

namespace meridian::index::internal {

QuantizedKernelSet scalar_quantized_kernels();
QuantizedKernelSet avx2_quantized_kernels();    // Needs AVX2 and FMA.
QuantizedKernelSet avx512_quantized_kernels();  // Needs AVX-512F.

}  // namespace meridian::index::internal
