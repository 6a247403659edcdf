// Scoped locks over an absl::Mutex that also report each acquire and release to
// ThreadSanitizer. Debian's Abseil is not built with TSan, so TSan cannot see how absl::Mutex
// orders threads and reports false races between threads the mutex serialises (every node test
// with writers on two threads); the annotations restore that ordering. Outside TSan builds they
// compile to nothing, and the locks behave exactly as absl::MutexLock / ReaderMutexLock /
// ReleasableMutexLock.
#pragma once

#include "absl/base/dynamic_annotations.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace meridian::node {

// Tells TSan that `mu` is now held (exclusively or shared) / about to be released. For code that
// releases and re-acquires a mutex itself (absl::Mutex::Await).
inline void annotate_acquired(absl::Mutex* mu, bool exclusive) {
  ABSL_ANNOTATE_RWLOCK_ACQUIRED(mu, exclusive ? 1 : 0);
  (void)mu;
  (void)exclusive;
}
inline void annotate_released(absl::Mutex* mu, bool exclusive) {
  ABSL_ANNOTATE_RWLOCK_RELEASED(mu, exclusive ? 1 : 0);
  (void)mu;
  (void)exclusive;
}

// Holds `mu` exclusively for its scope (absl::MutexLock).
class ABSL_SCOPED_LOCKABLE AnnotatedWriterLock {
 public:
  explicit AnnotatedWriterLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
    annotate_acquired(mu_, true);
  }
  ~AnnotatedWriterLock() ABSL_UNLOCK_FUNCTION() {
    annotate_released(mu_, true);
    mu_->Unlock();
  }
  AnnotatedWriterLock(const AnnotatedWriterLock&) = delete;
  AnnotatedWriterLock& operator=(const AnnotatedWriterLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// Holds `mu` shared for its scope (absl::ReaderMutexLock).
class ABSL_SCOPED_LOCKABLE AnnotatedReaderLock {
 public:
  explicit AnnotatedReaderLock(absl::Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
    annotate_acquired(mu_, false);
  }
  ~AnnotatedReaderLock() ABSL_UNLOCK_FUNCTION() {
    annotate_released(mu_, false);
    mu_->ReaderUnlock();
  }
  AnnotatedReaderLock(const AnnotatedReaderLock&) = delete;
  AnnotatedReaderLock& operator=(const AnnotatedReaderLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// Holds `mu` exclusively until Release() or the end of its scope (absl::ReleasableMutexLock).
class ABSL_SCOPED_LOCKABLE AnnotatedReleasableWriterLock {
 public:
  explicit AnnotatedReleasableWriterLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
    annotate_acquired(mu_, true);
  }
  ~AnnotatedReleasableWriterLock() ABSL_UNLOCK_FUNCTION() {
    if (mu_ != nullptr) Release();
  }
  // Unlocks early; the destructor then does nothing. Call at most once.
  void Release() ABSL_UNLOCK_FUNCTION() {
    annotate_released(mu_, true);
    mu_->Unlock();
    mu_ = nullptr;
  }
  AnnotatedReleasableWriterLock(const AnnotatedReleasableWriterLock&) = delete;
  AnnotatedReleasableWriterLock& operator=(const AnnotatedReleasableWriterLock&) = delete;

 private:
  absl::Mutex* mu_;
};

}  // namespace meridian::node
