// The `unmask` command line: each subcommand lives in its own cmd_<name>.cpp, which registers
// itself with UNMASK_REGISTER_COMMAND. A command parses its flags, calls one library function,
// prints the result and returns an exit code (CONTRACT.md).
//
//   namespace {
//   unmask::cli::Command make_probe(CLI::App& app) {
//     auto opts = std::make_shared<ProbeOptions>();
//     CLI::App* sub = app.add_subcommand("probe", "Describe a media file");
//     sub->add_option("FILE", opts->path)->required();
//     return {sub, [opts] { ...; return 0; }};
//   }
//   }  // namespace
//   UNMASK_REGISTER_COMMAND(make_probe);
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::cli {

struct Command {
  CLI::App* app = nullptr;       // the subcommand, owned by the parent app
  std::function<int()> run;      // runs when this subcommand was given; returns the exit code
};
using CommandFactory = Command (*)(CLI::App& parent);

// Called before main() by UNMASK_REGISTER_COMMAND; commands appear in registration order.
bool register_command(CommandFactory factory);

// Flags every subcommand accepts.
struct GlobalOptions {
  bool quiet = false;  // no progress bar, no informational logs
  bool verbose = false;
};
const GlobalOptions& global_options();

// Prints "unmask: error: <message>" on stderr and returns the status's exit code.
int fail(const Status& status);
// Whether a file could be written at `path`, checked before a long job rather than after it: an
// input error naming the path when it is a folder, or its folder is missing, not a folder or not
// writable (tried by creating and removing a uniquely named empty file there, so it holds for root
// and read-only mounts too). An existing file at `path` is left as it is.
Status check_output_file(const std::string& path);
// Registers `--detectors a,b` on `sub` (scan and eval): the names, split at commas, spaces around
// each trimmed. A value naming no detector ("", ",") is a usage error rather than "every detector":
// an empty variable in a script must not silently widen what runs. Unknown names are left to the
// scan, which knows the registry.
CLI::Option* add_detectors_option(CLI::App* sub, std::vector<std::string>* names);
// Prints `text` plus a newline on stdout.
void print_line(const std::string& text);

}  // namespace unmask::cli

#define UNMASK_CONCAT_INNER(a, b) a##b
#define UNMASK_CONCAT(a, b) UNMASK_CONCAT_INNER(a, b)
#define UNMASK_REGISTER_COMMAND(factory) \
  static const bool UNMASK_CONCAT(unmask_registered_, __LINE__) = ::unmask::cli::register_command(factory)
