// A one-line progress bar for long CLI operations, drawn on a terminal only.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace meridian::cli {

// Redraws "\r<label> [#####.....]  45%  2200/4900" on `out` when the shown percentage changes.
// A disabled bar prints nothing, so callers need not check: construct it with
// enabled = stderr_is_terminal(). `out` must outlive the bar.
class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::string label, uint64_t total, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records that `done` of `total` units are finished.
  void update(uint64_t done);
  // Draws the last update if it is not on screen yet and ends the line; the destructor calls it.
  void finish();

 private:
  void draw(uint64_t done);

  std::ostream& out_;
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  int last_percent_ = -1;
  uint64_t last_done_ = 0;
  uint64_t drawn_done_ = 0;
};

// True when standard error is a terminal (isatty).
bool stderr_is_terminal();

}  // namespace meridian::cli
