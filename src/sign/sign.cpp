// Ed25519 keys (libsodium), the canonical manifest text and the sidecar JSON.
#include "sign/sign.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_text.h"

namespace unmask::sign {
namespace {

constexpr std::string_view kSecretHeader = "unmask-ed25519-secret-key-v1";
constexpr std::string_view kPublicHeader = "unmask-ed25519-public-key-v1";
constexpr std::string_view kManifestHeader = "unmask.manifest/1";
constexpr std::string_view kSidecarSchema = "unmask.sidecar/1";

bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string to_hex(const uint8_t* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

bool from_hex(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2 != 0) return false;
  out.resize(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// Reads "HEADER\nHEX\n" and returns the decoded bytes; input error naming the path otherwise.
Result<std::vector<uint8_t>> read_key_file(const std::string& path, std::string_view header,
                                           size_t n_bytes) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  if (trim(first) != header) {
    return Status::input(path, "not an unmask " + std::string(header.find("secret") != std::string_view::npos ? "secret" : "public") +
                                   " key file (expected first line '" + std::string(header) + "')");
  }
  std::vector<uint8_t> bytes;
  if (!from_hex(trim(second), bytes) || bytes.size() != n_bytes) {
    return Status::input(path, "malformed key: expected " + std::to_string(n_bytes * 2) + " hex digits");
  }
  return bytes;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string PublicKey::hex() const { return to_hex(bytes.data(), bytes.size()); }

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  std::copy(bytes.begin() + 32, bytes.end(), pk.bytes.begin());
  return pk;
}

Result<KeyPair> generate_key_pair() {
  if (!sodium_ready()) return Status::internal("libsodium", "initialisation failed");
  KeyPair keys;
  crypto_sign_keypair(keys.public_key.bytes.data(), keys.secret_key.bytes.data());
  return keys;
}

Status write_key_pair(const std::string& prefix, const KeyPair& keys) {
  const std::string key_path = prefix + ".key";
  const std::string pub_path = prefix + ".pub";
  std::string secret = std::string(kSecretHeader) + "\n" +
                       to_hex(keys.secret_key.bytes.data(), keys.secret_key.bytes.size()) + "\n";
  UNMASK_RETURN_IF_ERROR(write_file_atomic(key_path, secret));
  sodium_memzero(secret.data(), secret.size());
  if (::chmod(key_path.c_str(), 0600) != 0) return Status::input(key_path, "cannot restrict permissions to 0600");
  return write_file_atomic(pub_path, std::string(kPublicHeader) + "\n" + keys.public_key.hex() + "\n");
}

Result<SecretKey> read_secret_key(const std::string& path) {
  auto bytes = read_key_file(path, kSecretHeader, kSecretKeyBytes);
  if (!bytes.ok()) return bytes.status();
  SecretKey key;
  std::copy(bytes->begin(), bytes->end(), key.bytes.begin());
  // The stored public half must be the one derived from the seed: catches edited key files.
  if (!sodium_ready()) return Status::internal("libsodium", "initialisation failed");
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), key.bytes.data());
  const bool consistent = sodium_memcmp(sk.data(), key.bytes.data(), 64) == 0;
  sodium_memzero(sk.data(), sk.size());
  sodium_memzero(bytes->data(), bytes->size());
  if (!consistent) return Status::input(path, "corrupt secret key (public half does not match the seed)");
  return key;
}

Result<PublicKey> read_public_key(const std::string& path) {
  auto bytes = read_key_file(path, kPublicHeader, kPublicKeyBytes);
  if (!bytes.ok()) return bytes.status();
  PublicKey key;
  std::copy(bytes->begin(), bytes->end(), key.bytes.begin());
  return key;
}

Result<PublicKey> parse_public_key_hex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  if (!from_hex(hex, bytes) || bytes.size() != kPublicKeyBytes) {
    return Status::input("public key", "expected 64 hex digits");
  }
  PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes.begin());
  return key;
}

std::string canonical_text(const Manifest& m) {
  std::ostringstream out;
  out << kManifestHeader << '\n'
      << "issuer=" << m.issuer << '\n'
      << "synthetic=" << (m.synthetic ? 1 : 0) << '\n'
      << "payload=" << m.payload_hex << '\n'
      << "created_utc=" << m.created_utc << '\n'
      << "tool=" << m.tool_version << '\n'
      << "media=" << m.media_kind << '\n'
      << "width_px=" << m.width_px << '\n'
      << "height_px=" << m.height_px << '\n'
      << "n_frames=" << m.n_frames << '\n'
      << "file_sha256=" << m.file_sha256 << '\n'
      << "n_segments=" << m.segment_fingerprints.size() << '\n';
  for (size_t i = 0; i < m.segment_fingerprints.size(); ++i) {
    const auto& fp = m.segment_fingerprints[i];
    out << "segment." << i << '=' << to_hex(fp.data(), fp.size()) << '\n';
  }
  return out.str();
}

Result<Manifest> parse_canonical_text(const std::string& text) {
  auto bad = [](const std::string& why) { return Status::input("manifest", why); };
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kManifestHeader) return bad("unknown manifest format");
  Manifest m;
  size_t n_segments = 0;
  try {
    auto next = [&](const std::string& key) -> std::string {
      if (!std::getline(in, line)) throw std::runtime_error("missing '" + key + "'");
      const std::string prefix = key + "=";
      if (line.rfind(prefix, 0) != 0) throw std::runtime_error("expected '" + key + "', got '" + line.substr(0, 40) + "'");
      return line.substr(prefix.size());
    };
    m.issuer = static_cast<uint32_t>(std::stoul(next("issuer")));
    m.synthetic = next("synthetic") == "1";
    m.payload_hex = next("payload");
    m.created_utc = next("created_utc");
    m.tool_version = next("tool");
    m.media_kind = next("media");
    m.width_px = std::stoi(next("width_px"));
    m.height_px = std::stoi(next("height_px"));
    m.n_frames = std::stoll(next("n_frames"));
    m.file_sha256 = next("file_sha256");
    n_segments = std::stoul(next("n_segments"));
    if (n_segments > 1000000) throw std::runtime_error("implausible segment count");
    for (size_t i = 0; i < n_segments; ++i) {
      std::vector<uint8_t> fp;
      if (!from_hex(next("segment." + std::to_string(i)), fp)) throw std::runtime_error("bad hex in segment " + std::to_string(i));
      m.segment_fingerprints.push_back(std::move(fp));
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  return m;
}

Result<std::string> sign_manifest(Manifest manifest, const SecretKey& key) {
  if (!sodium_ready()) return Status::internal("libsodium", "initialisation failed");
  if (manifest.created_utc.empty()) manifest.created_utc = now_utc();
  if (manifest.tool_version.empty()) manifest.tool_version = "unmask " + std::string(version());
  const std::string text = canonical_text(manifest);
  std::array<uint8_t, kSignatureBytes> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                       key.bytes.data());
  nlohmann::ordered_json j;
  j["schema"] = kSidecarSchema;
  j["manifest"] = text;
  j["signature"] = to_hex(sig.data(), sig.size());
  j["public_key"] = key.public_key().hex();
  return json_text(j, 2) + "\n";
}

Result<SignedManifest> parse_sidecar(const std::string& json_text, const std::string& what) {
  SignedManifest s;
  try {
    auto j = nlohmann::json::parse(json_text);
    if (!j.is_object() || j.value("schema", "") != kSidecarSchema) {
      return Status::input(what, "not an unmask sidecar (schema is not unmask.sidecar/1)");
    }
    s.manifest_text = j.at("manifest").get<std::string>();
    s.signature_hex = j.at("signature").get<std::string>();
    s.public_key_hex = j.at("public_key").get<std::string>();
  } catch (const std::exception& e) {
    return Status::input(what, std::string("corrupt sidecar JSON: ") + e.what());
  }
  auto m = parse_canonical_text(s.manifest_text);
  if (!m.ok()) return Status::input(what, m.status().message());
  s.manifest = std::move(m).value();
  return s;
}

Result<SignedManifest> read_sidecar(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  return parse_sidecar(*text, path);
}

std::string sidecar_path(const std::string& media_path) { return media_path + ".unmask.json"; }

std::string_view content_match_name(ContentMatch match) {
  switch (match) {
    case ContentMatch::kByteIdentical: return "byte_identical";
    case ContentMatch::kSameContent: return "same_content";
    case ContentMatch::kAltered: return "altered";
  }
  return "altered";
}

bool fingerprints_match(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) return false;
  double sum = 0;
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    int d = std::abs(int(a[i]) - int(b[i]));
    sum += d;
    worst = std::max(worst, d);
  }
  return sum / a.size() <= 2.5 && worst <= 24;
}

CheckResult check(const SignedManifest& s, const PublicKey* expected, const std::string& file_sha256,
                  const std::vector<std::vector<uint8_t>>& file_fingerprints) {
  CheckResult r;
  r.public_key_hex = s.public_key_hex;
  std::vector<uint8_t> sig, pk;
  if (!sodium_ready() || !from_hex(s.signature_hex, sig) || sig.size() != kSignatureBytes ||
      !from_hex(s.public_key_hex, pk) || pk.size() != kPublicKeyBytes) {
    r.reason = "The signature or public key in the manifest is malformed.";
    return r;
  }
  if (expected != nullptr && sodium_memcmp(expected->bytes.data(), pk.data(), kPublicKeyBytes) != 0) {
    r.key_matches = false;
  }
  const uint8_t* verify_key = expected != nullptr ? expected->bytes.data() : pk.data();
  r.valid = crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(s.manifest_text.data()),
                                        s.manifest_text.size(), verify_key) == 0;
  if (!r.valid) {
    r.reason = !r.key_matches ? "The manifest was not signed by the given public key."
                              : "The manifest's signature does not verify: it was modified after signing.";
    return r;
  }
  const Manifest& m = s.manifest;
  if (!m.file_sha256.empty() && m.file_sha256 == file_sha256) {
    r.content = ContentMatch::kByteIdentical;
    r.n_segments_compared = static_cast<int>(m.segment_fingerprints.size());
    r.reason = "The file is byte-identical to the one that was signed.";
    return r;
  }
  const size_t n = std::min(m.segment_fingerprints.size(), file_fingerprints.size());
  r.n_segments_compared = static_cast<int>(n);
  for (size_t i = 0; i < n; ++i) {
    if (!fingerprints_match(m.segment_fingerprints[i], file_fingerprints[i])) ++r.n_segments_differing;
  }
  const long count_gap = std::labs(static_cast<long>(m.segment_fingerprints.size()) -
                                   static_cast<long>(file_fingerprints.size()));
  if (n > 0 && r.n_segments_differing == 0 && count_gap <= 1) {
    r.content = ContentMatch::kSameContent;
    r.reason = "The file was re-encoded but its content matches what was signed.";
  } else {
    r.content = ContentMatch::kAltered;
    r.reason = n == 0 ? "The file's content cannot be compared with what was signed."
                      : std::to_string(r.n_segments_differing) + " of " + std::to_string(n) +
                            " one-second segments differ from what was signed" +
                            (count_gap > 1 ? " and the length changed." : ".");
  }
  return r;
}

}  // namespace unmask::sign
