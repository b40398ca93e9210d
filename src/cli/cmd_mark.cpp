// unmask mark embed IN OUT --issuer ID [--key PREFIX.key] [--strength S]
// unmask mark verify FILE [--pub PREFIX.pub] [--json] [--tamper-map OUT.png]
// The watermark comes from mark, the signed manifest from sign; this file only joins them: the
// manifest records what mark::embed_file reports, and verify compares what mark::verify_file
// measures with what the manifest says (CONTRACT.md "mark verify --json").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "core/json_text.h"
#include "mark/mark.h"
#include "media/media.h"
#include "serve/provenance.h"
#include "sign/sign.h"

namespace unmask::cli {
namespace {

struct EmbedOptions {
  std::string in, out, key_path;
  uint32_t issuer = 0;
  uint32_t sequence = 0;
  double strength = 1.0;
  bool synthetic = false;
  bool json = false;
};

struct VerifyCliOptions {
  std::string path, pub_path, tamper_map;
  int max_frames = 128;
  bool json = false;
};

int run_embed(const EmbedOptions& o) {
  // Read the key before spending minutes marking: a bad key is an input error up front.
  std::optional<sign::SecretKey> key;
  if (!o.key_path.empty()) {
    auto k = sign::read_secret_key(o.key_path);
    if (!k.ok()) return fail(k.status());
    key = *k;
  }
  TerminalProgress progress(global_options().quiet);
  mark::MarkOptions mo;
  mo.issuer = o.issuer;
  mo.sequence = o.sequence;
  mo.synthetic = o.synthetic;
  mo.strength = o.strength;
  mo.progress = progress.as_fn();
  auto report = mark::embed_file(o.in, o.out, mo);
  progress.finish();
  if (!report.ok()) return fail(report.status());
  std::string sidecar;
  if (key) {
    sign::Manifest m;
    m.issuer = report->payload.issuer;
    m.synthetic = report->payload.synthetic;
    m.payload_hex = report->payload.hex();
    m.media_kind = report->is_image ? "image" : "video";
    m.width_px = report->width_px;
    m.height_px = report->height_px;
    m.n_frames = report->n_frames;
    m.segment_fingerprints = report->fingerprints;
    auto sha = sha256_file(o.out);
    if (!sha.ok()) return fail(sha.status());
    m.file_sha256 = *sha;
    auto text = sign::sign_manifest(m, *key);
    if (!text.ok()) return fail(text.status());
    sidecar = sign::sidecar_path(o.out);
    Status s = write_file_atomic(sidecar, *text);
    if (!s.is_ok()) return fail(s);
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["out"] = o.out;
    j["issuer"] = report->payload.issuer;
    j["synthetic"] = report->payload.synthetic;
    j["payload"] = report->payload.hex();
    j["n_frames"] = report->n_frames;
    j["psnr_db"] = report->psnr_db;
    j["manifest"] = sidecar.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(sidecar);
    print_line(json_text(j, 2));
  } else {
    char line[256];
    std::snprintf(line, sizeof line, "marked %s: issuer %u%s, %lld frame%s, PSNR %.1f dB", o.out.c_str(),
                  report->payload.issuer, report->payload.synthetic ? " (synthetic)" : "",
                  static_cast<long long>(report->n_frames), report->n_frames == 1 ? "" : "s", report->psnr_db);
    print_line(line);
    if (!sidecar.empty()) print_line("signed manifest: " + sidecar);
  }
  return 0;
}

int run_verify(const VerifyCliOptions& o) {
  std::optional<sign::PublicKey> pub;
  if (!o.pub_path.empty()) {
    auto k = sign::read_public_key(o.pub_path);
    if (!k.ok()) return fail(k.status());
    pub = *k;
  }
  // A sidecar that exists but is corrupt is a bad manifest (exit 3), not an absent one.
  const std::string sidecar = sign::sidecar_path(o.path);
  std::optional<sign::SignedManifest> manifest;
  std::error_code ec;
  if (std::filesystem::exists(sidecar, ec)) {
    auto m = sign::read_sidecar(sidecar);
    if (!m.ok()) return fail(m.status());
    manifest = *m;
  }
  if (!o.tamper_map.empty()) {
    if (Status s = check_output_file(o.tamper_map); !s.is_ok()) return fail(s);
  }
  TerminalProgress progress(global_options().quiet);
  serve::ProvenanceRequest request;
  request.media_path = o.path;
  request.manifest = manifest;
  request.expected_signer = pub;
  request.max_frames = o.max_frames;
  request.render_tamper_map = !o.tamper_map.empty();
  request.progress = progress.as_fn();
  auto result = serve::check_provenance(request);
  progress.finish();
  if (!result.ok()) return fail(result.status());
  const mark::VerifyResult* v = &result->verify;
  const std::optional<sign::CheckResult>& check = result->check;
  if (!o.tamper_map.empty()) {
    if (v->tamper_map.empty()) {
      log_warning("no tamper map: " + std::string(!v->found ? "no watermark found"
                                                            : "the frame geometry changed since marking"));
    } else {
      Status s = media::write_image(o.tamper_map, v->tamper_map);
      if (!s.is_ok()) return fail(s);
    }
  }
  if (o.json) {
    print_line(serve::provenance_json(request, *result));
    return 0;
  }
  char line[256];
  if (v->found) {
    std::snprintf(line, sizeof line, "watermark: found, issuer %u%s, confidence %.6f, bit error rate %.3f (%d frames)",
                  v->payload.issuer, v->payload.synthetic ? ", SYNTHETIC media" : "", v->confidence,
                  v->bit_error_rate, v->frames_checked);
  } else {
    std::snprintf(line, sizeof line, "watermark: not found (%d frames checked)", v->frames_checked);
  }
  print_line(line);
  if (!manifest) {
    print_line("signature: none (no " + sidecar + ")");
  } else {
    print_line(std::string("signature: ") + (check->valid ? "valid" : "INVALID") + " — " + check->reason);
  }
  if (v->tamper_checked) {
    std::snprintf(line, sizeof line, "tamper: %zu of %d readable frames have altered regions",
                  v->tamper_frames.size(), v->tamper_frames_readable);
    print_line(line);
    // Where: the first few frames with regions (all of them are in --json).
    constexpr size_t kShown = 3;
    for (size_t i = 0; i < std::min(kShown, v->tamper_frames.size()); ++i) {
      const mark::TamperFrame& f = v->tamper_frames[i];
      std::string where = "  t=" + std::to_string(f.t_s).substr(0, std::to_string(f.t_s).find('.') + 3) + " s:";
      for (const Box& b : f.regions) {
        std::snprintf(line, sizeof line, " [x %.0f, y %.0f, %.0fx%.0f]", b.x, b.y, b.w, b.h);
        where += line;
      }
      print_line(where);
    }
    if (v->tamper_frames.size() > kShown) print_line("  ... (all frames with --json)");
  } else if (v->found && v->payload.version != mark::kPayloadVersion) {
    print_line("tamper: not checked (mark version " + std::to_string(v->payload.version) + "; this build reads the tamper layer of version " +
               std::to_string(mark::kPayloadVersion) + ")");
  } else if (v->found) {
    print_line("tamper: not checked (the frame geometry changed since marking)");
  }
  return 0;
}

Command make_mark(CLI::App& app) {
  auto embed = std::make_shared<EmbedOptions>();
  auto verify = std::make_shared<VerifyCliOptions>();
  CLI::App* sub = app.add_subcommand("mark", "Invisible watermark and signed provenance");
  sub->require_subcommand(1);
  CLI::App* e = sub->add_subcommand("embed", "Mark a video or image (audio is copied untouched)");
  e->add_option("IN", embed->in, "Input video or image")->required();
  e->add_option("OUT", embed->out, "Output (same kind as the input)")->required();
  e->add_option("--issuer", embed->issuer, "Issuer ID (32-bit unsigned)")->required();
  e->add_option("--key", embed->key_path, "Sign a manifest with this secret key (PREFIX.key)");
  // CLI::Range lets NaN through (every comparison with it is false): refused first, in its words.
  const CLI::Validator a_number(
      [](std::string& v) {
        return std::isfinite(std::strtod(v.c_str(), nullptr)) ? std::string() : "Value " + v + " not in range 0.1 to 8";
      },
      "");
  e->add_option("--strength", embed->strength, "Watermark strength (1 = ~43 dB PSNR)")
      ->check(a_number)
      ->check(CLI::Range(0.1, 8.0));
  e->add_option("--sequence", embed->sequence, "Asset or sequence number (28 bits)");
  e->add_flag("--synthetic", embed->synthetic, "Flag the media as synthetic");
  e->add_flag("--json", embed->json, "Print JSON");
  CLI::App* v = sub->add_subcommand("verify", "Look for the watermark, check the signature, map tampering");
  v->add_option("FILE", verify->path, "Video or image")->required();
  v->add_option("--pub", verify->pub_path, "Expected signer's public key (PREFIX.pub)");
  v->add_flag("--json", verify->json, "Print JSON (CONTRACT.md)");
  v->add_option("--tamper-map", verify->tamper_map, "Write the most tampered frame with the map drawn (PNG)");
  v->add_option("--frames", verify->max_frames, "Frames to check, spread over the file")->check(CLI::Range(1, 10000));
  return {sub, [sub, e, embed, verify] {
            if (e->parsed()) return run_embed(*embed);
            (void)sub;
            return run_verify(*verify);
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_mark);
