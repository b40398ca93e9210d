#!/usr/bin/env bash
# Rebuilds the interpolation detector's training data and model from ../shared/data at run time:
#   1. the real training videos (sources NOT held out, >= 2.5 s; the first 6 s of each),
#   2. five versions of each, all re-encoded with x264 (CRF 18 unless said, no audio) by this machine's ffmpeg:
#      real:  orig (x264's default B-frames, hierarchical), ibp (one B-frame between P-frames,
#             CRF 26: the coding pattern that alternates like interpolation), dup (frame rate
#             doubled by repeating frames: not synthesised);
#      fake:  mci (frame rate doubled by motion-compensated interpolation, minterpolate mi_mode=mci),
#             blend (doubled by blending neighbours, framerate),
#   3. `unmask train --detector interpolation` on them -> models/off/interpolation.unm + card
#      (OFF=0 installs to models/).
# Nothing derived from the data is committed: the clips and the manifest go to $CACHE.
#
# Usage: scripts/train-interpolation.sh [DATA_DIR] [CACHE_DIR]  (defaults ../shared/data, /work/cache/interpolation)
#   UNMASK=path/to/unmask  SEED=1  SKIP_TRAIN=1 (only make the data)  SKIP_INSTALL=1  OFF=0
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
CACHE="${2:-/work/cache/interpolation}"
UNMASK="${UNMASK:-$ROOT/build/unmask}"
[[ -x "$UNMASK" ]] || UNMASK="$ROOT/build/src/cli/unmask"
[[ -x "$UNMASK" ]] || { echo "no unmask binary: build it or set UNMASK" >&2; exit 3; }
SEED="${SEED:-1}"
mkdir -p "$CACHE"/{orig,ibp,dup,mci,blend}

source "$ROOT/scripts/lib/train-common.sh"
REALS="$CACHE/real_videos.txt"
list_real_training_videos "$DATA" "$REALS" 2.5
echo "real training videos (>= 2.5 s, not held out): $(wc -l < "$REALS")"

x264=(-c:v libx264 -crf 18 -pix_fmt yuv420p -an)
k=0
while IFS=, read -r path repo; do
  n=$(printf %02d "$k"); k=$((k + 1))
  src="$DATA/$path"
  fps=$(ffprobe -v error -select_streams v -show_entries stream=r_frame_rate -of csv=p=0 "$src")
  double="$(python3 -c "from fractions import Fraction as F; print(F('$fps') * 2)")"
  encode() {  # encode OUT FFMPEG_ARGS...: once, a failure reported and not fatal
    local out="$1"; shift
    [[ -s "$out" ]] || ffmpeg -nostdin -v error -y -t 6 -i "$src" "$@" "$out" || echo "failed: $out"
  }
  encode "$CACHE/orig/$n.mp4" "${x264[@]}"
  encode "$CACHE/ibp/$n.mp4" -c:v libx264 -crf 26 -x264-params b-adapt=0:bframes=1 -pix_fmt yuv420p -an
  encode "$CACHE/dup/$n.mp4" -vf "fps=$double" "${x264[@]}"
  encode "$CACHE/mci/$n.mp4" -vf "minterpolate=fps=$double:mi_mode=mci" "${x264[@]}"
  encode "$CACHE/blend/$n.mp4" -vf "framerate=fps=$double" "${x264[@]}"
  echo "clip $n: $path"
done < "$REALS"

MANIFEST="$CACHE/train_manifest.csv"
{
  echo "path,label,source_repo,method"
  for v in orig ibp dup; do for f in "$CACHE/$v"/*.mp4; do [[ -s "$f" ]] && echo "$f,real,unmask/ffmpeg,$v"; done; done
  for v in mci blend; do for f in "$CACHE/$v"/*.mp4; do [[ -s "$f" ]] && echo "$f,fake,unmask/ffmpeg,$v"; done; done
} > "$MANIFEST"
echo "manifest: $MANIFEST ($(grep -c ',real,' "$MANIFEST") real, $(grep -c ',fake,' "$MANIFEST") interpolated)"

[[ -n "${SKIP_TRAIN:-}" ]] && exit 0
mkdir -p "$CACHE/run"
export OMP_WAIT_POLICY=passive
"$UNMASK" -v train --detector interpolation --manifest "$MANIFEST" --out "$CACHE/run/interpolation.unm" --seed "$SEED" \
  --cache "$CACHE" --threads 2
[[ -n "${SKIP_INSTALL:-}" ]] && exit 0
here="$ROOT" cache="$CACHE"
dest="$ROOT/models/off"
[[ "${OFF:-1}" == 0 ]] && dest="$ROOT/models"
install_model interpolation '
card["data"]["manifest"] = "built by scripts/train-interpolation.sh under the cache folder"
card["data"]["real"] = ("the first 6 s of the real videos >= 2.5 s of the training sources (LipNet, deep_avsr, "
    "LivePortrait, first-order-model, TPSMM, V-Express), each re-encoded three ways: x264 CRF 18 default, x264 with one "
    "B-frame between P-frames (CRF 26), frame rate doubled by repeating frames")
card["data"]["fake"] = "the same clips with the frame rate doubled by ffmpeg minterpolate (mci) and framerate (blend)"
card["data"]["held_out_sources"] = ["GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking", "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM"]
card["command"] = "scripts/train-interpolation.sh (" + card.get("command", "") + ")"
' "$dest"
