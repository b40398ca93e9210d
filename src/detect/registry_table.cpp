#include "detect/registry_table.h"

namespace unmask::detect {

const std::vector<RegistryEntry>& registry_table() {
  static const std::vector<RegistryEntry> table = {
      {"blend", DetectorKind::kCrop, load_blend},
  };
  return table;
}

}  // namespace unmask::detect
