#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/core.h"

namespace unmask {

TerminalProgress::TerminalProgress(bool quiet) : enabled_(!quiet && isatty(STDERR_FILENO) == 1) {}

TerminalProgress::~TerminalProgress() { finish(); }

void TerminalProgress::update(double fraction, std::string_view stage) {
  if (!enabled_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int permille = static_cast<int>(fraction * 1000.0);
  if (permille == last_permille_ && stage == last_stage_) return;
  last_permille_ = permille;
  last_stage_ = std::string(stage);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r\033[K[%s] %5.1f%% %.*s", bar.c_str(), fraction * 100.0,
               static_cast<int>(std::min<size_t>(stage.size(), 40)), stage.data());
  std::fflush(stderr);
  drawn_ = true;
}

void TerminalProgress::finish() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace unmask
