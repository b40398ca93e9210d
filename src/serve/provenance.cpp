#include "serve/provenance.h"

#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace unmask::serve {

Result<ProvenanceResult> check_provenance(const ProvenanceRequest& request) {
  mark::VerifyOptions vo;
  vo.max_frames = request.max_frames;
  vo.render_tamper_map = request.render_tamper_map;
  vo.fingerprints = request.manifest.has_value();
  vo.progress = request.progress;
  auto v = mark::verify_file(request.media_path, vo);
  if (!v.ok()) return v.status();
  ProvenanceResult out;
  out.verify = std::move(*v);
  if (request.manifest) {
    auto sha = sha256_file(request.media_path);
    if (!sha.ok()) return sha.status();
    out.check = sign::check(*request.manifest, request.expected_signer ? &*request.expected_signer : nullptr, *sha,
                            out.verify.fingerprints);
  }
  return out;
}

std::string provenance_json(const ProvenanceRequest& request, const ProvenanceResult& result) {
  const mark::VerifyResult& v = result.verify;
  nlohmann::ordered_json j;
  auto& w = j["watermark"];
  w["found"] = v.found;
  if (v.found) {
    w["issuer"] = v.payload.issuer;
    w["synthetic"] = v.payload.synthetic;
    w["sequence"] = v.payload.sequence;
    w["confidence"] = v.confidence;
    w["bit_error_rate"] = v.bit_error_rate;
  }
  w["frames_checked"] = v.frames_checked;
  auto& sg = j["signature"];
  sg["present"] = request.manifest.has_value();
  if (result.check) {
    const sign::CheckResult& c = *result.check;
    sg["valid"] = c.valid;
    sg["public_key"] = c.public_key_hex;
    if (request.expected_signer) sg["key_matches"] = c.key_matches;
    if (c.valid) {
      sg["content"] = sign::content_match_name(c.content);
      sg["issuer"] = request.manifest->manifest.issuer;
      sg["signed_utc"] = request.manifest->manifest.created_utc;
      sg["issuer_matches_watermark"] = v.found && v.payload.issuer == request.manifest->manifest.issuer;
    }
    sg["reason"] = c.reason;
  } else {
    sg["valid"] = false;
  }
  auto& t = j["tamper"];
  t["checked"] = v.tamper_checked;
  t["frames_readable"] = v.tamper_frames_readable;
  t["fraction_frames"] = v.tamper_fraction_frames;
  t["frames"] = nlohmann::ordered_json::array();
  for (const mark::TamperFrame& f : v.tamper_frames) {
    nlohmann::ordered_json fj;
    fj["t_s"] = f.t_s;
    fj["fraction_blocks"] = f.fraction_blocks;
    fj["regions"] = nlohmann::ordered_json::array();
    for (const Box& b : f.regions) fj["regions"].push_back({b.x, b.y, b.w, b.h});
    t["frames"].push_back(fj);
  }
  return json_text(j, 2);
}

}  // namespace unmask::serve
