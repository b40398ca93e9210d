// Entry point: parses the command line, runs the chosen subcommand, maps failures to exit codes.
// Nothing escapes as an exception or a crash signal: anything unexpected is exit 5 with a message.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "core/text.h"

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
  // No command: the one error line, naming the commands there are.
  std::string names;
  for (const Command& command : commands) names += (names.empty() ? "" : ", ") + command.app->get_name();
  std::cerr << "unmask: error: usage: a command is needed: " << names << " (see unmask --help)\n";
  return 2;
}

}  // namespace

bool register_command(CommandFactory factory) {
  factories().push_back(factory);
  return true;
}

const GlobalOptions& global_options() { return mutable_global_options(); }

int fail(const Status& status) {
  // One line, whatever the names in it; a library's trailing newline (OpenCV's) is dropped, not shown.
  std::string message = status.message();
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  std::cerr << "unmask: error: " << printable_text(message) << '\n';
  return exit_code_for(status);
}

void print_line(const std::string& text) { std::cout << text << '\n'; }

Status check_output_file(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return Status::input("output", "empty path");
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::input(path, "cannot write: is a directory");
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  const fs::file_status st = fs::status(folder, ec);
  if (!fs::exists(st)) return Status::input(path, "cannot write: folder " + folder.string() + " does not exist");
  if (!fs::is_directory(st)) return Status::input(path, "cannot write: " + folder.string() + " is not a folder");
  const std::string probe = unique_temporary_path((folder / ".unmask-write-check").string());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err != EEXIST) return Status::input(path, std::string("cannot write: ") + std::strerror(err));
  } else {
    ::close(fd);
    ::unlink(probe.c_str());
  }
  return Status::ok();
}

CLI::Option* add_detectors_option(CLI::App* sub, std::vector<std::string>* names) {
  auto split = [names](const std::string& list) {
    names->clear();
    std::stringstream ss(list);
    for (std::string item; std::getline(ss, item, ',');) {
      const auto first = item.find_first_not_of(" \t");
      if (first == std::string::npos) continue;
      names->push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
    }
    if (names->empty()) throw CLI::ValidationError("--detectors", "names no detector (got '" + list + "')");
  };
  return sub->add_option_function<std::string>("--detectors", split,
                                                "Only these detectors, comma-separated (default: every one installed)");
}

}  // namespace unmask::cli

// LibTorch's OpenMP threads spin after each parallel region by default; with many small layers
// that spinning steals the other core and makes a face crop 5x slower (26-34 ms instead of ~5 ms
// on 2 cores). libgomp reads OMP_WAIT_POLICY once, in its constructor, from the environment the
// process started with (glibc hands every library constructor the original envp), so the only way
// to set it from inside the program is to execute it again with the policy in the environment.
// That happens as early as possible: from the executable's .preinit_array, which the dynamic
// loader runs after mapping the libraries but before any of their constructors (LibTorch's
// operator registration alone is ~0.3 s), so the first image costs little more than its mapping.
// Only the commands that run LibTorch need it: `train`, and `synth train-swap` and `synth swap`
// (the autoencoder swap's network; scoring runs on nn's own kernels, without LibTorch or OpenMP).
// A user's own OMP_WAIT_POLICY is kept.
static bool trains_networks(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("-")) continue;  // global flags come before the subcommand
    if (arg == "synth" && i + 1 < argc) {
      const std::string_view method = argv[i + 1];
      return method == "train-swap" || method == "swap";
    }
    return arg == "train";
  }
  return false;
}

static void reexec_with_passive_openmp(int argc, char** argv, char** envp) {
  if (argv == nullptr || envp == nullptr || !trains_networks(argc, argv)) return;
  size_t n = 0;
  for (; envp[n] != nullptr; ++n) {
    if (std::string_view(envp[n]).starts_with("OMP_WAIT_POLICY=")) return;  // set (by the user or by us)
  }
  auto** env = static_cast<char**>(std::malloc((n + 2) * sizeof(char*)));
  if (env == nullptr) return;
  for (size_t i = 0; i < n; ++i) env[i] = envp[i];
  static char entry[] = "OMP_WAIT_POLICY=passive";
  env[n] = entry;
  env[n + 1] = nullptr;
  execve("/proc/self/exe", argv, env);
  std::free(env);  // execve only returns on failure: carry on with the default policy, just slower
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_passive_openmp)(int, char**, char**) =
    reexec_with_passive_openmp;

// A scan allocates and frees a decoded frame (2.7 MB at 720p, 6.2 MB at 1080p) and its copies
// hundreds of times per second on several threads. With glibc's adaptive defaults those blocks
// keep moving between fresh mmap()s and a heap top that is trimmed back to the kernel, and every
// new page is a fault the kernel zeroes: ~110 000 minor faults and 0.35 s of system time for a
// 10 s 720p scan. Blocks up to 32 MiB come from the heap and up to 128 MiB of free heap top is
// kept, so freed frames are reused: about half the faults, a third less system time, 8-10 % less
// time on a 10-minute video, peak RSS within 25 MiB of before (docs/scan.md, session 9). Fixed
// values, so they also stop the adaptation.
static void reuse_frame_buffers() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

// Ends the process once the command is done and its output is flushed, without running the
// static destructors of the libraries: LibTorch alone spends ~0.1 s deregistering its operators
// and freeing their tables at exit, after a 2 s scan has already printed its report. Every file
// the commands write is complete and closed before they return. Sanitizer builds exit normally,
// so that leak checking still sees the whole program.
[[noreturn]] static void finish(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  std::exit(code);
#else
  std::_Exit(code);
#endif
}

int main(int argc, char** argv) {
  reuse_frame_buffers();
  try {
    finish(unmask::cli::run(argc, argv));
  } catch (const std::bad_alloc&) {
    std::cerr << "unmask: error: memory: out of memory\n";
    return 5;
  } catch (const std::exception& e) {
    std::cerr << "unmask: error: internal: " << e.what() << '\n';
    return 5;
  }
}
