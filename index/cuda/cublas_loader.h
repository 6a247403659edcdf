// cuBLAS, loaded with dlopen the first time a GPU searcher is made. Linking libcublas directly
// would cost every process that links meridian_index_cuda (the node and all its tests) about
// 0.35 s at start-up to map cuBLAS's 600 MB of libraries, GPU or not; loading it on first use
// costs that only where a GPU is actually used.
#pragma once

#include <cublas_v2.h>

#include "absl/status/statusor.h"

namespace meridian::index::cuda {

// The few cuBLAS entry points the searchers use.
struct Cublas {
  decltype(&::cublasCreate_v2) create;
  decltype(&::cublasDestroy_v2) destroy;
  decltype(&::cublasSetStream_v2) set_stream;
  decltype(&::cublasSgemm_v2) sgemm;
};

// The loaded library (loaded once per process, never unloaded; thread-safe). Unavailable naming
// the library when it cannot be loaded or lacks a symbol.
absl::StatusOr<const Cublas*> load_cublas();

// The name of a cuBLAS status (CUBLAS_STATUS_...), for Status messages.
const char* cublas_status_name(cublasStatus_t status);

}  // namespace meridian::index::cuda
