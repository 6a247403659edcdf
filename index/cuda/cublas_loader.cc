// Loads cuBLAS on first use (see cublas_loader.h): first by soname through the normal search path
// (LD_LIBRARY_PATH, ld.so.cache), then from the toolkit directory found at build time.
#include "index/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"

namespace meridian::index::cuda {
namespace {

struct Loaded {
  Cublas api{};
  absl::Status status;
};

template <typename Fn>
bool bind(void* lib, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  return fn != nullptr;
}

Loaded load() {
  Loaded out;
  const std::string soname = MERIDIAN_CUBLAS_SONAME;
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    lib =
        dlopen(absl::StrCat(MERIDIAN_CUDA_LIBRARY_DIR, "/", soname).c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (lib == nullptr) {
    const char* why = dlerror();
    out.status = absl::UnavailableError(
        absl::StrCat("cannot load ", soname, ": ", why == nullptr ? "not found" : why));
    return out;
  }
  if (!bind(lib, "cublasCreate_v2", out.api.create) ||
      !bind(lib, "cublasDestroy_v2", out.api.destroy) ||
      !bind(lib, "cublasSetStream_v2", out.api.set_stream) ||
      !bind(lib, "cublasSgemm_v2", out.api.sgemm)) {
    out.status = absl::UnavailableError(absl::StrCat(soname, " lacks a cuBLAS entry point"));
  }
  return out;
}

}  // namespace

absl::StatusOr<const Cublas*> load_cublas() {
  // Loaded once and kept for the life of the process, like the CUDA runtime itself.
  static const Loaded loaded = load();
  if (!loaded.status.ok()) return loaded.status;
  return &loaded.api;
}

const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "CUBLAS_STATUS_UNKNOWN";
  }
}

}  // namespace meridian::index::cuda
