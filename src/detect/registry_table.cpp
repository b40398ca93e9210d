#include "detect/registry_table.h"

namespace unmask::detect {

const std::vector<RegistryEntry>& registry_table() {
  static const std::vector<RegistryEntry> table = {
      {"blend", DetectorKind::kCrop, load_blend},
      {"mouth", DetectorKind::kCrop, load_mouth, /*default_only_if_present=*/true},
      {"spectral", DetectorKind::kCrop, load_spectral},
      {"temporal", DetectorKind::kTrack, load_temporal},
      {"noise", DetectorKind::kTrack, load_noise},
      {"expression", DetectorKind::kTrack, load_expression},
      {"interpolation", DetectorKind::kTrack, load_interpolation, /*default_only_if_present=*/true},
      {"voice", DetectorKind::kAudio, load_voice},
  };
  return table;
}

}  // namespace unmask::detect
