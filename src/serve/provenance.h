// The provenance check behind `unmask mark verify` and POST /v1/marks/verify (CONTRACT.md "mark
// verify --json"): the watermark and tamper map of a file, and, when its signed manifest is
// given, whether the signature holds and the content is still what was signed.
#pragma once

#include <optional>
#include <string>

#include "core/core.h"
#include "mark/mark.h"
#include "sign/sign.h"

namespace unmask::serve {

struct ProvenanceRequest {
  std::string media_path;
  std::optional<sign::SignedManifest> manifest;  // the sidecar, when there is one
  std::optional<sign::PublicKey> expected_signer;
  int max_frames = 128;
  bool render_tamper_map = false;
  ProgressFn progress;
};

struct ProvenanceResult {
  mark::VerifyResult verify;
  std::optional<sign::CheckResult> check;  // when a manifest was given
};

// Input error for unreadable media.
Result<ProvenanceResult> check_provenance(const ProvenanceRequest& request);

// The JSON of CONTRACT.md "mark verify --json" (indented by 2).
std::string provenance_json(const ProvenanceRequest& request, const ProvenanceResult& result);

}  // namespace unmask::serve
