#!/usr/bin/env bash
# Rebuilds the expression detector's training data and model from ../shared/data at run time:
#   1. the real training videos (sources NOT held out for evaluation, at least 2.5 s),
#   2. one animated still per real video (synth animate: the video's first face, driven by the
#      video itself, so the fake differs from its real twin only by the frozen brows and the
#      warping), fakes the project makes itself,
#   3. `unmask train --detector expression` on both -> $CACHE/run/expression.unm + card, copied to
#      models/ (or models/off/ with OFF=1) unless SKIP_INSTALL=1.
# Nothing derived from the data is committed: manifests and animations go to $CACHE.
#
# Usage: scripts/train-expression.sh [DATA_DIR] [CACHE_DIR]   (defaults ../shared/data, /work/cache/expression)
#   UNMASK=path/to/unmask  SEED=1  SKIP_TRAIN=1 (only make the data)  SKIP_INSTALL=1  OFF=1
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
CACHE="${2:-/work/cache/expression}"
UNMASK="${UNMASK:-$ROOT/build/unmask}"
[[ -x "$UNMASK" ]] || UNMASK="$ROOT/build/src/cli/unmask"
SEED="${SEED:-1}"
mkdir -p "$CACHE/animated"

source "$ROOT/scripts/lib/train-common.sh"
# Real training videos of at least 2.5 s (the detector abstains below 2 s).
REALS="$CACHE/real_videos.txt"
list_real_training_videos "$DATA" "$REALS" 2.5
echo "real training videos (>= 2.5 s, not held out): $(wc -l < "$REALS")"

# One animated still per real video, named by its index in the list.
: > "$CACHE/animated.log"
k=0
while IFS=, read -r path repo; do
  out="$CACHE/animated/still_$(printf %02d "$k").mp4"
  if [ ! -s "$out" ]; then
    echo "animate $k: $path"
    "$UNMASK" --quiet synth animate --photo "$DATA/$path" --driver "$DATA/$path" --out "$out" < /dev/null ||
      echo "animate $k failed (counted, not fatal)"
  fi
  echo "$out,$path" >> "$CACHE/animated.log"
  k=$((k + 1))
done < "$REALS"

MANIFEST="$CACHE/train_manifest.csv"
{
  echo "path,label,source_repo,method"
  while IFS=, read -r path repo; do echo "$DATA/$path,real,$repo,none"; done < "$REALS"
  for f in "$CACHE"/animated/still_*.mp4; do [ -s "$f" ] && echo "$f,fake,unmask/synth,animate (self-driven still)"; done
} > "$MANIFEST"
echo "manifest: $MANIFEST ($(($(wc -l < "$MANIFEST") - 1)) rows)"

if [ -z "${SKIP_TRAIN:-}" ]; then
  mkdir -p "$CACHE/run"
  export OMP_WAIT_POLICY=passive
  "$UNMASK" -v train --detector expression --manifest "$MANIFEST" --out "$CACHE/run/expression.unm" --seed "$SEED" \
    --cache "$CACHE" --threads 2
  if [ -z "${SKIP_INSTALL:-}" ]; then
    here="$ROOT" cache="$CACHE"
    dest="$ROOT/models"
    [ -n "${OFF:-}" ] && dest="$ROOT/models/off"
    install_model expression '
card["data"]["manifest"] = "built by scripts/train-expression.sh from MANIFEST.csv (under the cache folder)"
card["data"]["real"] = "real videos >= 2.5 s of rizkiarm/LipNet, smeetrs/deep_avsr, KwaiVGI/LivePortrait, AliaksandrSiarohin/first-order-model, yoyo-nb/Thin-Plate-Spline-Motion-Model, tencent-ailab/V-Express"
card["data"]["fake"] = "one animated still per real video (unmask synth animate --photo V --driver V: its first face, driven by the video itself: head, mouth, jaw and blinks follow it, brows and nose keep the first frame\x27s expression)"
card["data"]["held_out_sources"] = ["GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking", "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM"]
' "$dest"
  fi
fi
