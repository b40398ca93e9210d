// unmask detect: the steps every trainer of a feature model (spectral, temporal, noise) shares:
// collecting per-video rows with their cache and validation split (the video-level models),
// the training options that come from the request, fitting and saving the model, and its card.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detect/feature_model.h"
#include "detect/temporal.h"
#include "detect/training.h"
#include "face/face.h"

namespace unmask::detect {

// ---------------------------------------------------------------------------------------------
// Rows of videos (temporal, noise: one model row per stretch of a video's longest face track)
// ---------------------------------------------------------------------------------------------

using VideoRows = std::vector<std::vector<float>>;
// The rows of one video; empty when the video has nothing usable (no long enough track).
using VideoRowsFn =
    std::function<Result<VideoRows>(const std::shared_ptr<const face::FaceModels>& models, const std::string& video_path)>;

// The rows of `video_path` from `cache`, or computed by `compute` and written there. The cache
// file is named by the path, the file size and `feature_version`; rows are written with 9
// significant digits (a float round-trips, so a cached run equals a fresh one; NaN stays NaN).
// A cache file that is cut short or has a row of another width than `width` is recomputed.
Result<VideoRows> cached_video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& video_path,
                                    const std::filesystem::path& cache, const std::string& feature_version, size_t width,
                                    const VideoRowsFn& compute);

struct VideoRowsSpec {
  std::string cache_subdir, default_cache_name;  // see prepare_training_folders
  std::string feature_version;
  size_t width = 0;                              // features per row
  VideoRowsFn rows_of;
  double progress_to = 0.8;                      // the request's progress runs over [0, progress_to]
  std::string progress_word = "videos";          // "videos 12/80"
  std::string no_rows_message;                   // input error when no video gave a row
};

// Every row of every video of the request's manifest, labelled by its video; a video goes to
// validation as a whole, when the hash of its path (with the seed) is 0 mod 4. Unreadable videos
// are counted, not fatal.
struct VideoRowSet {
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  int n_videos[2] = {0, 0};         // videos with at least one row, by label (0 real, 1 fake)
  int n_without_rows[2] = {0, 0};   // readable videos with no row
  int n_rows[2] = {0, 0};
  int n_failed = 0;                 // videos that could not be read
  std::string manifest_json;        // the card's "manifest" and "manifest_sha256" members (no braces)
};
Result<VideoRowSet> collect_video_rows(const TrainRequest& request, const VideoRowsSpec& spec);

// The rows_of of a detector with one feature row a video (expression, interpolation): the file's
// face tracks by track_series_from_file with `options`, and `features` of the longest one; no row
// when there is no track or the features give none.
using TrackFeaturesFn = std::function<std::optional<std::vector<float>>(const TrackSeries&)>;
Result<VideoRows> longest_track_row(const std::shared_ptr<const face::FaceModels>& models, const std::string& path,
                                    const TrackSeriesOptions& options, const TrackFeaturesFn& features);

// ---------------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------------

// Seed, epochs (the request's, or default_epochs), feature version, a checkpoint next to the
// output (resumed with --resume) and the request's progress mapped onto [progress_from, 1].
// The network shape and optimiser settings keep FeatureTrainOptions' defaults for the caller to set.
FeatureTrainOptions feature_train_options(const TrainRequest& request, int default_epochs,
                                          const std::string& feature_version, double progress_from);

// feature_train_options for a logistic regression (no hidden layer; batch 16, learning rate
// 0.01, weight decay 1e-3): the video-level models, with a few dozen videos per class.
FeatureTrainOptions logistic_feature_train_options(const TrainRequest& request, int default_epochs,
                                                   const std::string& feature_version, double progress_from);

// Fits the classifier, saves it to request.out_path, removes its checkpoint and returns the
// summary (model and card paths, validation metrics, train_seconds since `started`); the caller
// fills n_real and n_fake.
Result<TrainSummary> fit_and_save_feature_model(const TrainRequest& request, const FeatureTrainOptions& options,
                                                const std::vector<std::vector<float>>& rows,
                                                const std::vector<int>& labels, const std::vector<bool>& is_val,
                                                std::chrono::steady_clock::time_point started);

// The card's "data" of a model trained on collect_video_rows' rows, split by whole videos (path
// hash with the seed, 1 in 4): the manifest, videos with rows by label, `without_key` (readable
// videos with no row), the failures, `count_key` (rows by label; left out when empty) and
// `what_key`: `what` (what one row is).
struct VideoRowsCardText {
  std::string without_key{};
  std::string count_key{};
  std::string what_key = "rows";
  std::string what{};
};
std::string video_rows_card_data(const VideoRowSet& set, const VideoRowsCardText& text);

// Writes the card of a model fitted by fit_and_save_feature_model.
Status write_feature_model_card(const TrainRequest& request, const TrainSummary& summary, const std::string& detector,
                                const std::string& data_json, const std::string& architecture);

}  // namespace unmask::detect
