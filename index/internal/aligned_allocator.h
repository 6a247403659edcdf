// A std::allocator replacement that aligns every allocation to a cache line, so the rows of a
// vector store start where wide (AVX-512) loads do not split cache lines.
#pragma once

#include <cstddef>
#include <new>

namespace meridian::index::internal {

template <typename T, std::size_t kAlignment = 64>
struct AlignedAllocator {
  using value_type = T;

  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, kAlignment>&) {}  // NOLINT: rebinding is implicit

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kAlignment}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete (p, std::align_val_t{kAlignment}); }

  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, kAlignment>;
  };
  friend bool operator==(const AlignedAllocator&, const AlignedAllocator&) { return true; }
};

}  // namespace meridian::index::internal
