// unmask sign: Ed25519 keys and signed provenance manifests (libsodium inside).
//
// Basic usage:
//
//   // Once, by the producer:
//   auto keys = unmask::sign::generate_key_pair();
//   unmask::sign::write_key_pair("newsroom", *keys);           // newsroom.key (0600), newsroom.pub
//
//   // When marking (the CLI does this after mark::embed_file):
//   unmask::sign::Manifest m;
//   m.issuer = 4660; m.payload_hex = "..."; m.segment_fingerprints = report.fingerprints;
//   m.file_sha256 = *unmask::sha256_file("out.mp4");
//   auto secret = unmask::sign::read_secret_key("newsroom.key");
//   auto sidecar = unmask::sign::sign_manifest(m, *secret);  // JSON text
//   unmask::write_file_atomic(unmask::sign::sidecar_path("out.mp4"), *sidecar);
//
//   // When checking:
//   auto signed_m = unmask::sign::read_sidecar(unmask::sign::sidecar_path("copy.mp4"));
//   auto check = unmask::sign::check(*signed_m, pub_or_nullptr, file_sha256, file_fingerprints);
//   // check.valid, check.content == ContentMatch::kSameContent, ...
//
// The signed bytes are the manifest's canonical text (one "key=value" per line, fixed order), kept
// verbatim in the sidecar, so verification never depends on re-serialising JSON.
// Thread-safety: every function is safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::sign {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;
inline constexpr size_t kSignatureBytes = 64;

struct PublicKey {
  std::array<uint8_t, kPublicKeyBytes> bytes{};
  std::string hex() const;
};
struct SecretKey {
  std::array<uint8_t, kSecretKeyBytes> bytes{};  // libsodium layout: seed (32) + public key (32)
  PublicKey public_key() const;
};
struct KeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};

// A fresh random key pair. Internal error only when libsodium cannot initialise.
Result<KeyPair> generate_key_pair();
// Writes PREFIX.key (secret, mode 0600) and PREFIX.pub. Input error when a file cannot be written.
Status write_key_pair(const std::string& prefix, const KeyPair& keys);
// Reads a file written by write_key_pair. Input error naming the file for anything malformed.
Result<SecretKey> read_secret_key(const std::string& path);
Result<PublicKey> read_public_key(const std::string& path);
Result<PublicKey> parse_public_key_hex(const std::string& hex);

// What the producer asserts about a marked file. Fingerprints are opaque bytes (mark's coarse
// content fingerprints: a 16x16 grid of mean luma per one-second segment).
struct Manifest {
  uint32_t issuer = 0;
  bool synthetic = false;
  std::string payload_hex;     // the watermark's 64-bit payload, 16 hex digits
  std::string created_utc;     // ISO 8601, e.g. 2026-11-26T05:44:40Z; filled by sign_manifest if empty
  std::string tool_version;    // filled by sign_manifest if empty
  std::string media_kind;      // "video" or "image"
  int width_px = 0;
  int height_px = 0;
  int64_t n_frames = 0;
  std::string file_sha256;     // hex SHA-256 of the marked file's bytes
  std::vector<std::vector<uint8_t>> segment_fingerprints;
};

// The canonical signed text of a manifest, and its inverse (input error when malformed).
std::string canonical_text(const Manifest& manifest);
Result<Manifest> parse_canonical_text(const std::string& text);

// Signs the manifest and returns the sidecar JSON ({"schema":"unmask.sidecar/1", "manifest":
// "<canonical text>", "signature": hex, "public_key": hex}).
Result<std::string> sign_manifest(Manifest manifest, const SecretKey& key);

struct SignedManifest {
  Manifest manifest;
  std::string manifest_text;   // the exact signed bytes
  std::string signature_hex;
  std::string public_key_hex;
};
// Parses sidecar JSON. Input error ("manifest: ...") when it is not a well-formed sidecar.
Result<SignedManifest> parse_sidecar(const std::string& json_text, const std::string& what = "manifest");
Result<SignedManifest> read_sidecar(const std::string& path);
// "<media path>.unmask.json".
std::string sidecar_path(const std::string& media_path);

enum class ContentMatch { kByteIdentical, kSameContent, kAltered };
std::string_view content_match_name(ContentMatch match);  // "byte_identical", "same_content", "altered"

struct CheckResult {
  bool valid = false;             // signature verifies (and matches `expected` when given)
  bool key_matches = true;        // false when `expected` was given and the signer differs
  std::string public_key_hex;     // the signer's key as recorded in the sidecar
  ContentMatch content = ContentMatch::kAltered;
  int n_segments_compared = 0;
  int n_segments_differing = 0;
  std::string reason;             // one sentence
};
// Verifies the signature (against `expected` when not null, else against the key in the sidecar)
// and compares the file with what was signed: byte-identical (same SHA-256), same content
// (re-encoded: every segment's fingerprint within tolerance, segment counts agree), or altered.
CheckResult check(const SignedManifest& signed_manifest, const PublicKey* expected,
                  const std::string& file_sha256,
                  const std::vector<std::vector<uint8_t>>& file_fingerprints);

// True when two coarse-content fingerprints describe the same picture up to re-encoding:
// mean absolute difference <= 2.5 levels and no cell differs by more than 24.
bool fingerprints_match(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace unmask::sign
