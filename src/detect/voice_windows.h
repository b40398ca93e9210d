// The voice detector's window grid, shared by the whole-file analysis (voice.cpp) and the
// bounded-memory one (voice_stream.cpp), which must make exactly the same windows (VoiceStream
// tests check it). Internal to the detect library.
#pragma once

#include <algorithm>

namespace unmask::detect::voice_grid {

constexpr int kHop = 160;              // 10 ms at 16 kHz: one feature frame
constexpr int kWindowFrames = 300;     // 3 s
constexpr int kWindowHopFrames = 150;  // 1.5 s
constexpr int kMinWindowSpeech = 100;  // 1 s of speech makes a window
constexpr int kMinTotalSpeech = 50;    // 0.5 s in the file gives one window at least

// Calls make(a, b, c) for every 3 s window [a, b) of n frames (1.5 s hop) with c >= 1 s of speech
// (c = count(a, b)); when none was made (made() false), for the window with the most speech if it
// has 0.5 s.
template <class Count, class Make, class Made>
void for_each_window(int n, const Count& count, const Make& make, const Made& made) {
  int best_a = 0, best_c = -1;
  for (int a = 0; a == 0 || a + kWindowFrames / 2 < n; a += kWindowHopFrames) {
    const int b = std::min(n, a + kWindowFrames);
    const int c = count(a, b);
    if (c > best_c) {
      best_c = c;
      best_a = a;
    }
    if (c >= kMinWindowSpeech) make(a, b, c);
    if (b == n) break;
  }
  if (!made() && best_c >= kMinTotalSpeech) make(best_a, std::min(n, best_a + kWindowFrames), best_c);
}

}  // namespace unmask::detect::voice_grid
