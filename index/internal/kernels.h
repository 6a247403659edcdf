// Per-ISA kernel tables, each defined in its own translation unit compiled with that ISA's flags.
// Only distance.cc calls these, and only after checking that the CPU supports the ISA.
#pragma once

#include "index/distance.h"

namespace meridian::index::internal {

KernelSet scalar_kernels();
KernelSet avx2_kernels();    // Needs AVX2 and FMA.
KernelSet avx512_kernels();  // Needs AVX-512F.

}  // namespace meridian::index::internal
