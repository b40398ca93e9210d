// make_corpus: a labelled real/fake set from real media, for training and evaluating detectors.
// Every fake is made by this component's own methods and therefore carries the synthetic mark.
#include <algorithm>
#include <filesystem>

#include "mark/mark.h"
#include "media/media.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

namespace fs = std::filesystem;

// Sentences for dubbed voices: ordinary, neutral statements.
constexpr const char* kSentences[] = {
    "The weather will stay dry for the rest of the week, with some wind in the evening.",
    "I never said that, and I would like to make that very clear to everyone watching.",
    "Our team has finished the report and we will publish all of the numbers tomorrow.",
    "Please remember to check the time of the meeting before you leave the office today.",
    "The new bridge opens to traffic on Monday after three years of construction work.",
    "We are grateful for your support and we look forward to seeing you again soon.",
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

struct RealItem {
  std::string path;
  bool is_image = false;
  bool has_audio = false;
};

Result<std::vector<RealItem>> list_real(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::input(dir, "is not a folder");
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) paths.push_back(fs::absolute(e.path()).string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<RealItem> items;
  for (const auto& p : paths) {
    if (media::has_audio_extension(p)) continue;
    auto info = media::probe(p);
    if (!info.ok() || !info->video) continue;  // not media, or audio only: skipped
    items.push_back({p, info->is_image, info->audio.has_value()});
  }
  if (items.empty()) return Status::input(dir, "no readable videos or photos in the folder");
  return items;
}

}  // namespace

Result<CorpusSummary> make_corpus(const std::string& real_dir, const std::string& out_dir,
                                  const CorpusOptions& options, std::shared_ptr<const face::FaceModels> models) {
  if (options.n_fakes < 0) return Status::usage("--n", "must not be negative");
  auto reals = list_real(real_dir);
  if (!reals.ok()) return reals.status();
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::input(out_dir, "cannot create folder: " + ec.message());

  CorpusSummary summary;
  std::string manifest = "path,label,method,source,target,seed\n";
  for (const RealItem& r : *reals) {
    manifest += csv_field(r.path) + ",real,original,,," + "\n";
    ++summary.n_real;
  }
  std::vector<size_t> videos;
  for (size_t i = 0; i < reals->size(); ++i) {
    if (!(*reals)[i].is_image) videos.push_back(i);
  }

  std::mt19937_64 rng(options.seed);
  const size_t n_real = reals->size();
  for (int k = 0; k < options.n_fakes; ++k) {
    if (options.progress) options.progress(static_cast<double>(k) / std::max(1, options.n_fakes), "making fakes");
    const uint64_t item_seed = options.seed * 1000003ULL + static_cast<uint64_t>(k);
    std::mt19937_64 item_rng(item_seed);
    const int method = k % 3;
    char base[32];
    Status made = Status::ok();
    std::string path, method_name, source, target;
    if (method == 0 && n_real >= 2) {  // swap between two different files
      const size_t t = std::uniform_int_distribution<size_t>(0, n_real - 1)(item_rng);
      size_t s = std::uniform_int_distribution<size_t>(0, n_real - 2)(item_rng);
      if (s >= t) ++s;
      target = (*reals)[t].path;
      source = (*reals)[s].path;
      std::snprintf(base, sizeof base, "swap_%04d", k);
      path = std::string(base) + ((*reals)[t].is_image ? ".png" : ".mp4");
      method_name = "landmark_swap";
      SwapOptions swap;
      swap.crf = options.crf;
      auto r = swap_files(source, target, (fs::path(out_dir) / path).string(), swap, models);
      if (!r.ok()) made = r.status();
      else if (r->n_swapped == 0) made = Status::input(target, "no face to swap");
    } else if (method == 2 && !videos.empty()) {  // dub a video
      const size_t t = videos[std::uniform_int_distribution<size_t>(0, videos.size() - 1)(item_rng)];
      target = (*reals)[t].path;
      source = kSentences[std::uniform_int_distribution<size_t>(0, std::size(kSentences) - 1)(item_rng)];
      std::snprintf(base, sizeof base, "dub_%04d.mp4", k);
      path = base;
      method_name = "dub";
      DubOptions dub;
      dub.crf = options.crf;
      auto r = dub_file(target, source, (fs::path(out_dir) / path).string(), dub);
      if (!r.ok()) made = r.status();
    } else {  // self-blend one face of a file
      const size_t t = std::uniform_int_distribution<size_t>(0, n_real - 1)(item_rng);
      target = (*reals)[t].path;
      std::snprintf(base, sizeof base, "selfblend_%04d", k);
      const std::string sub = (fs::path(out_dir) / (std::string(base) + ".tmp")).string();
      method_name = "selfblend";
      SelfBlendFilesOptions sb;
      sb.n_samples = 1;
      sb.seed = item_seed;
      sb.every_nth_frame = 25;
      // selfblend_files takes folders or videos; a single photo goes through a one-file folder.
      std::string input = target;
      if ((*reals)[t].is_image) {
        fs::create_directories(sub + "_in", ec);
        fs::copy_file(target, fs::path(sub + "_in") / fs::path(target).filename(), fs::copy_options::overwrite_existing, ec);
        input = sub + "_in";
      }
      auto r = selfblend_files(input, sub, sb, models);
      if (r.ok()) {
        path = std::string(base) + ".png";
        fs::rename(fs::path(sub) / "fake_00000.png", fs::path(out_dir) / path, ec);
        if (ec) made = Status::input(out_dir, "cannot move self-blend output: " + ec.message());
      } else {
        made = r.status();
      }
      fs::remove_all(sub, ec);
      fs::remove_all(sub + "_in", ec);
    }
    if (!made.is_ok()) {
      log_warning("corpus: " + method_name + " #" + std::to_string(k) + " skipped: " + made.message());
      ++summary.n_failed;
      continue;
    }
    manifest += csv_field(path) + ",fake," + method_name + "," + csv_field(source) + "," + csv_field(target) + "," +
                std::to_string(item_seed) + "\n";
    ++summary.n_fake;
  }
  summary.manifest_path = (fs::path(out_dir) / "manifest.csv").string();
  UNMASK_RETURN_IF_ERROR(write_file_atomic(summary.manifest_path, manifest));
  return summary;
}

}  // namespace unmask::synth
