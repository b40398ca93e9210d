#!/usr/bin/env bash
# Rebuilds the temporal detector's training data and model from ../shared/data at run time:
#   1. the training manifest of real videos (sources NOT held out for evaluation),
#   2. landmark face swaps between those real clips (synth swap; fakes the project makes itself),
#   3. `unmask train --detector temporal` on real + swapped clips -> models/temporal.unm + card.
# Nothing derived from the data is committed: manifests and swaps go to $CACHE.
#
# Usage: scripts/train-temporal.sh [DATA_DIR] [CACHE_DIR]     (defaults ../shared/data, /work/cache/spectral/temporal)
#   UNMASK=path/to/unmask  N_SWAPS=30  SEED=1  SKIP_TRAIN=1 (only make the data)
#   SWAP_FACE_PX=N (swaps render the face at N px across and scale it up: synth swap --face-px)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
CACHE="${2:-/work/cache/spectral/temporal}"
UNMASK="${UNMASK:-$ROOT/build/unmask}"
[[ -x "$UNMASK" ]] || UNMASK="$ROOT/build/src/cli/unmask"
N_SWAPS="${N_SWAPS:-30}"
SEED="${SEED:-1}"
SWAP_FACE_PX="${SWAP_FACE_PX:-0}"
mkdir -p "$CACHE/swaps"

# Video sources kept out of training (evaluation only) and the real-video list: shared with the other trainers.
source "$ROOT/scripts/lib/train-common.sh"
# Real training videos of at least 2.5 s (the detector abstains below 2 s).
REALS="$CACHE/real_videos.txt"
list_real_training_videos "$DATA" "$REALS" 2.5
n_reals=$(wc -l < "$REALS")
echo "real training videos (>= 2.5 s, not held out): $n_reals"

# Swaps: target i gets the face of real video (i * 7 + 3) mod n (never itself), blends and
# colour transfers alternating, so the fakes vary like a careless and a careful swap.
mapfile -t rows < "$REALS"
: > "$CACHE/swaps.log"
for ((k = 0; k < N_SWAPS; ++k)); do
  i=$(( (k * 5 + SEED) % n_reals ))
  j=$(( (i * 7 + 3 + k) % n_reals ))
  if [ "$i" -eq "$j" ]; then j=$(( (j + 1) % n_reals )); fi
  target="${rows[$i]%%,*}"; source="${rows[$j]%%,*}"
  out="$CACHE/swaps/swap_$(printf %02d "$k").mp4"
  blend=$([ $((k % 2)) -eq 0 ] && echo poisson || echo alpha)
  colour=$([ $((k % 3)) -eq 2 ] && echo histogram || echo reinhard)
  if [ ! -s "$out" ]; then
    echo "swap $k: $source -> $target ($blend, $colour)"
    "$UNMASK" --quiet synth swap --source "$DATA/$source" --target "$DATA/$target" --out "$out" \
      --blend "$blend" --colour "$colour" --face-px "$SWAP_FACE_PX" || echo "swap $k failed (counted, not fatal)"
  fi
  echo "$out,$target,$source,$blend,$colour" >> "$CACHE/swaps.log"
done

MANIFEST="$CACHE/train_manifest.csv"
{
  echo "path,label,source_repo,method"
  while IFS=, read -r path repo; do echo "$DATA/$path,real,$repo,none"; done < "$REALS"
  for f in "$CACHE"/swaps/swap_*.mp4; do [ -s "$f" ] && echo "$f,fake,unmask/synth,landmark swap"; done
} > "$MANIFEST"
echo "manifest: $MANIFEST ($(($(wc -l < "$MANIFEST") - 1)) rows)"

if [ -z "${SKIP_TRAIN:-}" ]; then
  mkdir -p "$CACHE/run"
  export OMP_WAIT_POLICY=passive
  "$UNMASK" -v train --detector temporal --manifest "$MANIFEST" --out "$CACHE/run/temporal.unm" --seed "$SEED" \
    --cache "$CACHE" --threads 2
  cp "$CACHE/run/temporal.unm" "$ROOT/models/temporal.unm"
  python3 - "$CACHE/run/temporal.card.json" "$ROOT/models/temporal.card.json" "$N_SWAPS" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
card["data"]["manifest"] = "built by scripts/train-temporal.sh from MANIFEST.csv (under the cache folder)"
card["data"]["real"] = "real videos >= 2.5 s of rizkiarm/LipNet, smeetrs/deep_avsr, KwaiVGI/LivePortrait, AliaksandrSiarohin/first-order-model, yoyo-nb/Thin-Plate-Spline-Motion-Model, tencent-ailab/V-Express"
card["data"]["fake"] = f"{sys.argv[3]} landmark face swaps (unmask synth swap, poisson/alpha blend, reinhard/histogram colour) between those real clips"
card["data"]["held_out_sources"] = ["GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking", "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM"]
json.dump(card, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
PY
  echo "wrote $ROOT/models/temporal.unm and $ROOT/models/temporal.card.json"
fi
