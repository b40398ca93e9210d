// Voice ensembles: several version-2 voice networks whose window logits are averaged, with one
// pair of Platt scalings fitted on the manifest files some member held out for validation
// (fit_voice_ensemble_scaling), packed into one model file with its card (pack_voice_ensemble).
// Also the trainer's source groups and validation split, which the ensemble fit repeats.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "detect/audio_features.h"
#include "detect/voice.h"
#include "detect/voice_training.h"
#include "learn/learn.h"
#include "media/media.h"
#include "nn/nn.h"

namespace unmask::detect {

namespace voice_training {

bool voice_row_used(const learn::ManifestItem& item, bool& is_video) {
  auto kind = item.columns.find("kind");
  is_video = kind != item.columns.end() && kind->second == "video";
  return kind == item.columns.end() || kind->second == "audio" || (is_video && item.label == 0);
}

int n_espeak_clips() { return static_cast<int>(voice_training_espeak_voices().size()) * 3 * 2; }

}  // namespace voice_training

using voice_training::kMaxFileSeconds;
using voice_training::n_espeak_clips;
using voice_training::voice_row_used;

std::set<int> voice_validation_groups(uint64_t seed, int n_groups) {
  std::mt19937_64 rng(seed);
  std::vector<int> groups(static_cast<size_t>(std::max(0, n_groups)));
  for (int g = 0; g < n_groups; ++g) groups[g] = g;
  std::shuffle(groups.begin(), groups.end(), rng);
  if (groups.empty()) return {};
  return std::set<int>(groups.begin(), groups.begin() + std::max<size_t>(1, groups.size() * 15 / 100));
}

Result<VoiceManifestGroups> voice_manifest_groups(const std::string& manifest_path,
                                                  const std::function<void(double, const std::string&)>& progress) {
  auto items = learn::read_manifest(manifest_path);
  if (!items.ok()) return items.status();
  VoiceManifestGroups out;
  int group = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    bool is_video = false;
    if (!voice_row_used(item, is_video)) continue;
    if (progress) progress(static_cast<double>(i) / items->size(), "reading " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
    auto audio = media::read_audio(item.path, kFeatureRateHz);
    if (!audio.ok() && is_video) continue;
    if (!audio.ok()) return Status::input(manifest_path + ":" + std::to_string(item.line), audio.status().message());
    if (audio->duration_s() > kMaxFileSeconds) audio->samples.resize(static_cast<size_t>(kMaxFileSeconds * kFeatureRateHz));
    out.rows.push_back({item, group++, *std::move(audio)});
  }
  out.n_groups = group + n_espeak_clips();
  return out;
}

Result<VoiceEnsembleFit> fit_voice_ensemble_scaling(const std::string& manifest_path,
                                                    const std::vector<std::string>& member_paths,
                                                    const std::function<void(double, const std::string&)>& progress) {
  if (member_paths.empty()) return Status::usage("voice ensemble", "no member");
  std::vector<std::shared_ptr<const AudioDetector>> members;
  std::vector<uint64_t> seeds;
  for (const auto& path : member_paths) {
    auto info = nn::read_model_info(path);
    if (!info.ok()) return info.status();
    auto seed = info->metadata.find("seed");
    if (seed == info->metadata.end() || seed->second.empty()) return Status::model(path, "no seed in the model metadata");
    seeds.push_back(std::strtoull(seed->second.c_str(), nullptr, 10));
    auto detector = load_voice_detector(path);
    if (!detector.ok()) return detector.status();
    if ((*detector)->info().version != "2") return Status::model(path, "ensemble members must be single version-2 voice models");
    members.push_back(*detector);
  }
  auto grouped = voice_manifest_groups(manifest_path, [&](double f, const std::string& s) {
    if (progress) progress(0.3 * f, s);
  });
  if (!grouped.ok()) return grouped.status();
  std::vector<std::set<int>> held(members.size());
  for (size_t m = 0; m < members.size(); ++m) held[m] = voice_validation_groups(seeds[m], grouped->n_groups);

  VoiceEnsembleFit fit;
  std::vector<double> file_stats, window_logits;
  std::vector<int> file_labels, window_labels;
  std::vector<std::vector<double>> own_stats(members.size());
  std::vector<std::vector<int>> own_labels(members.size());
  for (size_t r = 0; r < grouped->rows.size(); ++r) {
    const auto& row = grouped->rows[r];
    if (progress) progress(0.3 + 0.7 * r / grouped->rows.size(), "scoring " + std::to_string(r + 1) + "/" + std::to_string(grouped->rows.size()));
    std::vector<double> sum;
    int n_held = 0;
    for (size_t m = 0; m < members.size(); ++m) {
      if (!held[m].count(row.group)) continue;
      auto logits = voice_window_logits(*members[m], row.audio);
      if (!logits.ok()) return logits.status();
      if (logits->logits.empty()) break;  // no speech: the same for every member
      own_stats[m].push_back(voice_file_logit(logits->logits));
      own_labels[m].push_back(row.item.label);
      if (sum.empty()) sum.assign(logits->logits.size(), 0.0);
      for (size_t w = 0; w < sum.size(); ++w) sum[w] += logits->logits[w];
      ++n_held;
    }
    if (n_held == 0) continue;
    for (double& v : sum) v /= n_held;
    file_stats.push_back(voice_file_logit(sum));
    file_labels.push_back(row.item.label);
    (row.item.label ? fit.n_fake_files : fit.n_real_files) += 1;
    for (double v : sum) {
      window_logits.push_back(v);
      window_labels.push_back(row.item.label);
    }
  }
  fit.n_files = static_cast<int>(file_stats.size());
  fit.n_windows = static_cast<int>(window_logits.size());
  learn::PlattScaling platt, file_platt;
  UNMASK_RETURN_IF_ERROR(platt.fit(window_logits, window_labels));
  UNMASK_RETURN_IF_ERROR(file_platt.fit(file_stats, file_labels));
  fit.calibration = platt.serialize();
  fit.file_calibration = file_platt.serialize();
  std::vector<double> probs;
  for (double v : file_stats) probs.push_back(file_platt.apply(v));
  const auto fm = learn::binary_metrics(probs, file_labels);
  fit.file_auc = fm.auc;
  fit.file_eer = fm.eer;
  fit.file_log_loss = fm.log_loss;
  for (size_t m = 0; m < members.size(); ++m) {
    std::ostringstream line;
    line << member_paths[m] << " (seed " << seeds[m] << "): " << own_stats[m].size() << " held-out manifest files";
    int n_fake = 0;
    for (int l : own_labels[m]) n_fake += l;
    line << " (" << n_fake << " synthetic)";
    if (n_fake > 0 && n_fake < static_cast<int>(own_labels[m].size())) {
      line << ", own file AUC " << learn::roc_auc(own_stats[m], own_labels[m]) << ", EER "
           << learn::equal_error_rate(own_stats[m], own_labels[m]);
    }
    fit.member_report.push_back(line.str());
  }
  if (progress) progress(1.0, "done");
  return fit;
}


Result<VoiceEnsembleFit> pack_voice_ensemble(const std::string& out_path, const std::vector<std::string>& member_paths,
                                             const std::string& manifest_path, const std::string& command,
                                             const std::function<void(double, const std::string&)>& progress) {
  auto fit = fit_voice_ensemble_scaling(manifest_path, member_paths, progress);
  if (!fit.ok()) return fit.status();
  std::vector<std::string> bytes;
  nlohmann::json members = nlohmann::json::array();
  std::optional<nlohmann::json> shared_data;
  std::string seeds;
  for (const auto& path : member_paths) {
    auto b = read_file(path);
    if (!b.ok()) return Status::model(path, b.status().message());
    auto info = nn::read_model_info(path);
    if (!info.ok()) return info.status();
    const std::string seed = info->metadata.count("seed") ? info->metadata.at("seed") : std::string();
    seeds += (seeds.empty() ? "" : " ") + seed;
    nlohmann::json m = {{"file", path}, {"seed", std::strtoull(seed.c_str(), nullptr, 10)}, {"sha256", sha256_hex(*b)},
                        {"weights_sha256", info->weights_sha256}};
    std::filesystem::path card = path;
    card.replace_extension(".card.json");
    if (auto text = read_file(card.string()); text.ok()) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (!j.is_discarded()) {
        if (j.contains("metrics")) m["metrics"] = j["metrics"];
        if (j.contains("command")) m["command"] = j["command"];
        if (j.contains("epochs")) m["epochs"] = j["epochs"];
        if (j.contains("data") && !shared_data) shared_data = j["data"];  // the members share one recipe
      }
    }
    members.push_back(std::move(m));
    bytes.push_back(*std::move(b));
  }
  std::map<std::string, std::string> meta = {{"calibration", fit->calibration},
                                             {"file_calibration", fit->file_calibration},
                                             {"features", kVoiceCnnFeatureVersion},
                                             {"seeds", seeds},
                                             {"scaling_fitted_on", std::filesystem::path(manifest_path).filename().string()}};
  UNMASK_RETURN_IF_ERROR(write_voice_ensemble(out_path, bytes, meta));
  auto detector = load_voice_detector(out_path);  // the file reads back
  if (!detector.ok()) return detector.status();
  auto sha = sha256_file(out_path);
  if (!sha.ok()) return sha.status();
  nlohmann::json j;
  j["detector"] = "voice";
  j["model"] = std::filesystem::path(out_path).filename().string();
  j["sha256"] = *sha;
  j["model_sha256"] = (*detector)->info().model_sha256;
  j["version"] = (*detector)->info().version;
  j["features"] = kVoiceCnnFeatureVersion;
  j["ensemble"] = "mean of the members' window logits, then the file statistic (mean of the top quarter) and the scalings below";
  j["members"] = members;
  if (shared_data) j["data"] = *shared_data;
  j["calibration"] = fit->calibration;
  j["file_calibration"] = fit->file_calibration;
  j["scaling_fit"] = {{"manifest", manifest_path},
                      {"rule", "manifest rows some member held out for validation (by its seed), each scored by the mean window logits of the members that held it out; file scaling on the file statistic, window scaling on the windows"},
                      {"files", fit->n_files},
                      {"real_files", fit->n_real_files},
                      {"synthetic_files", fit->n_fake_files},
                      {"windows", fit->n_windows},
                      {"file_auc", fit->file_auc},
                      {"file_eer", fit->file_eer},
                      {"file_log_loss", fit->file_log_loss},
                      {"members_on_their_own_held_out_files", fit->member_report}};
  j["command"] = command;
  std::filesystem::path card = out_path;
  card.replace_extension(".card.json");
  UNMASK_RETURN_IF_ERROR(write_file_atomic(card.string(), json_text(j, 2) + "\n"));
  return fit;
}

}  // namespace unmask::detect
