#include "detect/registry_table.h"

namespace unmask::detect {

const std::vector<RegistryEntry>& registry_table() {
  static const std::vector<RegistryEntry> table = {
      {"blend", DetectorKind::kCrop, load_blend},
      {"voice", DetectorKind::kAudio, load_voice},
  };
  return table;
}

}  // namespace unmask::detect
