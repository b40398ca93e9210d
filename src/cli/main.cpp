// Entry point: parses the command line, runs the chosen subcommand, maps failures to exit codes.
// Nothing escapes as an exception or a crash signal: anything unexpected is exit 5 with a message.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/cli.h"

namespace unmask::cli {
namespace {

std::vector<CommandFactory>& factories() {
  static std::vector<CommandFactory> list;
  return list;
}

GlobalOptions& mutable_global_options() {
  static GlobalOptions options;
  return options;
}

void install_log_sink() {
  set_log_sink([](LogLevel level, std::string_view message) {
    const GlobalOptions& g = global_options();
    if (level == LogLevel::kDebug && !g.verbose) return;
    if (level == LogLevel::kInfo && (g.quiet || !g.verbose)) return;
    const char* prefix = level == LogLevel::kWarning ? "unmask: warning: "
                         : level == LogLevel::kError ? "unmask: error: " : "unmask: ";
    std::cerr << prefix << message << '\n';
  });
}

int run(int argc, char** argv) {
  CLI::App app{"unmask: tell real media from manipulated, and prove what is original"};
  app.name("unmask");
  app.require_subcommand(0, 1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("unmask ") + std::string(version()));
  GlobalOptions& g = mutable_global_options();
  app.add_flag("-q,--quiet", g.quiet, "No progress bar or informational messages");
  app.add_flag("-v,--verbose", g.verbose, "More log messages on stderr");

  std::vector<Command> commands;
  for (CommandFactory factory : factories()) commands.push_back(factory(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "unmask: error: usage: " << e.what() << " (see unmask --help)\n";
    return 2;
  }
  install_log_sink();
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  std::cout << app.help();
  return 2;
}

}  // namespace

bool register_command(CommandFactory factory) {
  factories().push_back(factory);
  return true;
}

const GlobalOptions& global_options() { return mutable_global_options(); }

int fail(const Status& status) {
  std::cerr << "unmask: error: " << status.message() << '\n';
  return exit_code_for(status);
}

void print_line(const std::string& text) { std::cout << text << '\n'; }

}  // namespace unmask::cli

// LibTorch's OpenMP threads spin after each parallel region by default; with many small layers
// that spinning steals the other core and makes a face crop 5x slower (26-34 ms instead of ~5 ms
// on 2 cores). The policy is read when the OpenMP runtime loads, before main(), so the only way
// to set it from inside the program is to re-execute once with it in the environment.
// Only the commands that run networks need it; the re-exec costs ~0.5 s of start-up (LibTorch's
// libraries load twice), so the others skip it.
static bool runs_networks(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("-")) continue;  // global flags come before the subcommand
    return arg == "scan" || arg == "eval" || arg == "train" || arg == "serve" || arg == "worker";
  }
  return false;
}

static void ensure_passive_openmp(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || !runs_networks(argc, argv)) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the default policy, just slower.
}

int main(int argc, char** argv) {
  ensure_passive_openmp(argc, argv);
  try {
    return unmask::cli::run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "unmask: error: memory: out of memory\n";
    return 5;
  } catch (const std::exception& e) {
    std::cerr << "unmask: error: internal: " << e.what() << '\n';
    return 5;
  }
}
