# Decides whether the CUDA search path (index/cuda/) is built. MERIDIAN_CUDA is AUTO (default: on
# when nvcc is found), ON (nvcc required) or OFF. Sets MERIDIAN_CUDA_ENABLED and, when it is on,
# enables the CUDA language and finds the toolkit (CUDA::cudart_static; cuBLAS headers).
set(MERIDIAN_CUDA AUTO CACHE STRING "Build GPU search with CUDA: AUTO (when nvcc is found), ON, OFF")
set_property(CACHE MERIDIAN_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${MERIDIAN_CUDA}" _meridian_cuda)
if(NOT _meridian_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "MERIDIAN_CUDA must be AUTO, ON or OFF, not '${MERIDIAN_CUDA}'")
endif()

set(MERIDIAN_CUDA_ENABLED OFF)
set(_meridian_cuda_why "")
# nvcc's host code and its fat binaries do not mix with the sanitizer runtimes' interception of
# the CUDA driver; sanitizer builds test the CPU path only.
if(_meridian_cuda STREQUAL "AUTO" AND "${CMAKE_CXX_FLAGS}" MATCHES "-fsanitize")
  set(_meridian_cuda "OFF")
  set(_meridian_cuda_why " (sanitizer build)")
endif()

if(NOT _meridian_cuda STREQUAL "OFF")
  # nvcc is often not on PATH: look in the toolkit's usual home too, unless the caller named a
  # compiler (a compiler named but absent counts as not found, so AUTO turns off cleanly).
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(MERIDIAN_NVCC nvcc HINTS /usr/local/cuda/bin)
    if(MERIDIAN_NVCC)
      # check_language() tries the compiler named by $CUDACXX in a scratch project.
      set(ENV{CUDACXX} "${MERIDIAN_NVCC}")
    endif()
  endif()
  if(DEFINED CMAKE_CUDA_COMPILER AND NOT EXISTS "${CMAKE_CUDA_COMPILER}")
    set(CMAKE_CUDA_COMPILER NOTFOUND)
  else()
    # Our C++ compiler hosts nvcc's host code, so both sides see one ABI and one libstdc++.
    if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
      set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}")
    endif()
    include(CheckLanguage)
    check_language(CUDA)
  endif()
  if(CMAKE_CUDA_COMPILER)
    # An explicit short list keeps compile time small (no GPU at build time, so no "native"):
    # sm_80 (A100) and sm_90 (H100/H200) as SASS, plus their PTX for newer GPUs to JIT.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(MERIDIAN_CUDA_ENABLED ON)
  elseif(_meridian_cuda STREQUAL "ON")
    message(FATAL_ERROR "MERIDIAN_CUDA=ON but no CUDA compiler (nvcc) was found; set "
                        "CMAKE_CUDA_COMPILER or use MERIDIAN_CUDA=AUTO/OFF")
  else()
    set(_meridian_cuda_why " (nvcc not found)")
  endif()
endif()

if(MERIDIAN_CUDA_ENABLED)
  if(CCACHE_PROGRAM)
    set(CMAKE_CUDA_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  endif()
  message(STATUS "Meridian: CUDA search path ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "Meridian: CUDA search path OFF${_meridian_cuda_why}")
endif()
