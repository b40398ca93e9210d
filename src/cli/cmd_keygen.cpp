// unmask keygen --out PREFIX: a fresh Ed25519 key pair for signing marked media.
#include <filesystem>
#include <memory>

#include "cli/cli.h"
#include "sign/sign.h"

namespace unmask::cli {
namespace {

struct KeygenOptions {
  std::string prefix;
  bool force = false;
};

Command make_keygen(CLI::App& app) {
  auto opts = std::make_shared<KeygenOptions>();
  CLI::App* sub = app.add_subcommand("keygen", "Make an Ed25519 key pair: PREFIX.key (secret) and PREFIX.pub");
  sub->add_option("--out", opts->prefix, "Path prefix of the two key files")->required();
  sub->add_flag("--force", opts->force, "Overwrite existing key files");
  return {sub, [opts] {
            const std::string key_path = opts->prefix + ".key";
            std::error_code ec;
            if (!opts->force && std::filesystem::exists(key_path, ec)) {
              return fail(Status::usage(key_path, "exists; refusing to overwrite a secret key (use --force)"));
            }
            auto keys = sign::generate_key_pair();
            if (!keys.ok()) return fail(keys.status());
            Status written = sign::write_key_pair(opts->prefix, *keys);
            if (!written.is_ok()) return fail(written);
            print_line("secret key: " + key_path + " (keep it private)");
            print_line("public key: " + opts->prefix + ".pub " + keys->public_key.hex());
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_keygen);
