// SHA-256 (FIPS 180-4), kept dependency-free so core needs nothing third-party. Reports use it to
// record the exact input and model files, and every model file is checked with it at load. On a
// CPU with the SHA extensions (x86 SHA-NI) the blocks go through them (~1 GB/s against ~0.2 GB/s
// for the portable rounds: 2 MB of models hashed twice cost a scan ~25 ms before); the digest is
// the same either way (tests/core compares both paths).
#include <array>
#include <cstdio>
#include <fstream>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/core.h"
#include "core/sha256_internal.h"

namespace unmask {
namespace {

constexpr std::array<uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

#if defined(__x86_64__)
// n_blocks 64-byte blocks through the SHA extensions: four rounds per step, the message schedule
// by sha256msg1/msg2 (w[t] = w[t-16] + s0(w[t-15]) + w[t-7] + s1(w[t-2]), four words at a time).
__attribute__((target("sha,sse4.1"))) void compress_blocks_sha_ni(uint32_t* state, const uint8_t* data, size_t n_blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
  __m128i state1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
  tmp = _mm_shuffle_epi32(tmp, 0xB1);           // CDAB
  state1 = _mm_shuffle_epi32(state1, 0x1B);     // EFGH
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);  // CDGH
  for (size_t b = 0; b < n_blocks; ++b, data += 64) {
    const __m128i abef_save = state0, cdgh_save = state1;
    __m128i w[16];
    for (int i = 0; i < 16; ++i) {
      if (i < 4) {
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * i)), byte_swap);
      } else {
        __m128i x = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);   // w[t-16] + s0(w[t-15])
        x = _mm_add_epi32(x, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));  // + w[t-7]
        w[i] = _mm_sha256msg2_epu32(x, w[i - 1]);                 // + s1(w[t-2])
      }
      __m128i msg = _mm_add_epi32(w[i], _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * i])));
      state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
      msg = _mm_shuffle_epi32(msg, 0x0E);
      state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
    }
    state0 = _mm_add_epi32(state0, abef_save);
    state1 = _mm_add_epi32(state1, cdgh_save);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);        // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);     // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0);  // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);     // ABEF
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), state0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), state1);
}

#endif

class Sha256 {
 public:
  explicit Sha256(bool use_sha_ni) : use_sha_ni_(use_sha_ni) {}

  void update(const uint8_t* data, size_t n) {
    total_bytes_ += n;
    // Whole blocks straight from the input when nothing is buffered.
    if (buffered_ == 0 && n >= 64) {
      const size_t n_blocks = n / 64;
      compress_blocks(data, n_blocks);
      data += 64 * n_blocks;
      n -= 64 * n_blocks;
    }
    while (n > 0) {
      const size_t take = std::min(n, 64 - buffered_);
      std::copy(data, data + take, block_.begin() + static_cast<long>(buffered_));
      buffered_ += take;
      data += take;
      n -= take;
      if (buffered_ == 64) {
        compress_blocks(block_.data(), 1);
        buffered_ = 0;
      }
    }
  }

  std::string hex_digest() {
    const uint64_t bit_length = total_bytes_ * 8;
    const uint8_t pad_start = 0x80;
    update(&pad_start, 1);
    const uint8_t zero = 0;
    while (buffered_ != 56) update(&zero, 1);
    std::array<uint8_t, 8> length_be{};
    for (int i = 0; i < 8; ++i) length_be[i] = static_cast<uint8_t>(bit_length >> (56 - 8 * i));
    update(length_be.data(), 8);
    std::string out;
    char hex[9];
    for (uint32_t word : state_) {
      std::snprintf(hex, sizeof hex, "%08x", word);
      out += hex;
    }
    return out;
  }

 private:
  void compress_blocks(const uint8_t* data, size_t n_blocks) {
#if defined(__x86_64__)
    if (use_sha_ni_) {
      compress_blocks_sha_ni(state_.data(), data, n_blocks);
      return;
    }
#endif
    for (size_t b = 0; b < n_blocks; ++b) compress(data + 64 * b);
  }

  void compress(const uint8_t* block) {
    std::array<uint32_t, 64> w{};
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{block[4 * i]} << 24) | (uint32_t{block[4 * i + 1]} << 16) |
             (uint32_t{block[4 * i + 2]} << 8) | uint32_t{block[4 * i + 3]};
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const uint32_t ch = (e & f) ^ (~e & g);
      const uint32_t t1 = h + s1 + ch + kRoundConstants[i] + w[i];
      const uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      const uint32_t t2 = s0 + maj;
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state_[0] += a; state_[1] += b; state_[2] += c; state_[3] += d;
    state_[4] += e; state_[5] += f; state_[6] += g; state_[7] += h;
  }

  std::array<uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<uint8_t, 64> block_{};
  size_t buffered_ = 0;
  bool use_sha_ni_ = false;
  uint64_t total_bytes_ = 0;
};

// True when this CPU has the SHA extensions (checked once); always false off x86-64.
bool use_sha_ni() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace

namespace detail {
std::string sha256_hex_portable(std::string_view bytes) {
  Sha256 h(false);
  h.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return h.hex_digest();
}
bool sha256_has_sha_ni() { return use_sha_ni(); }
}  // namespace detail

std::string sha256_hex(std::string_view bytes) {
  Sha256 h(use_sha_ni());
  h.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return h.hex_digest();
}

Result<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::input(path, "cannot open for hashing");
  Sha256 h(use_sha_ni());
  std::array<char, 1 << 16> chunk{};
  while (in) {
    in.read(chunk.data(), chunk.size());
    h.update(reinterpret_cast<const uint8_t*>(chunk.data()), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::input(path, "read failed while hashing");
  return h.hex_digest();
}

}  // namespace unmask
