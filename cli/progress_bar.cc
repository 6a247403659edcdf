// ProgressBar: carriage-return redraws, throttled to one per percent.
#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>

namespace meridian::cli {
namespace {
constexpr int kBarWidth = 30;
}  // namespace

ProgressBar::ProgressBar(std::ostream& out, std::string label, uint64_t total, bool enabled)
    : out_(out), label_(std::move(label)), total_(total), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done) {
  last_done_ = done;
  if (!enabled_ || finished_) return;
  const int percent = total_ == 0 ? 100 : static_cast<int>(std::min(done, total_) * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  draw(done);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (last_done_ != drawn_done_ || last_percent_ < 0) draw(last_done_);
  out_ << '\n' << std::flush;
}

void ProgressBar::draw(uint64_t done) {
  drawn_done_ = done;
  const uint64_t shown = std::min(done, total_);
  const int filled = total_ == 0 ? kBarWidth : static_cast<int>(shown * kBarWidth / total_);
  const int percent = total_ == 0 ? 100 : static_cast<int>(shown * 100 / total_);
  out_ << '\r' << label_ << " [" << std::string(filled, '#') << std::string(kBarWidth - filled, '.')
       << "] " << percent << "%  " << done << '/' << total_ << std::flush;
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace meridian::cli
