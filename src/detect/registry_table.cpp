#include "detect/registry_table.h"

namespace unmask::detect {

const std::vector<RegistryEntry>& registry_table() {
  static const std::vector<RegistryEntry> table = {
  };
  return table;
}

}  // namespace unmask::detect
