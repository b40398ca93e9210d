#!/usr/bin/env bash
# Rebuilds the noise detector (models/off/noise.unm + card; see step 3) from ../shared/data at run time:
#   1. the real videos and N_SWAPS landmark swaps of scripts/train-temporal.sh's seed-1 pairing
#      (run with SKIP_TRAIN=1 into SWAP_CACHE: the swaps are decoded, swapped, watermarked and
#      re-encoded at x264 CRF 18 by unmask synth swap),
#   2. every real video put through the same processing without the swap (scripts/lib/mark-reals.sh:
#      unmask mark embed, issuer 0, CRF 18, mark-preserving x264 options), so that the two classes
#      differ by the face manipulation only and not by the mark or a second encode. Swaps and
#      marked reals must come from the same unmask build: the mark has changed between versions
#      and the mark alone moves the noise features (docs/detectors.md, noise). The build is
#      recorded in CACHE/made-with.txt; a different one gets a warning (use a fresh cache),
#   3. `unmask train --detector noise` on the marked reals + swaps -> models/off/noise.unm + card.
# The model goes to models/off/, which scan does not load: once both classes are processed alike,
# the project's own swaps score below chance and its scores are near 0 or 1 (docs/detectors.md,
# noise). INSTALL_DIR=models puts it back into the default set.
# Nothing derived from the data is committed: manifests, marked copies and row caches go to CACHE.
#
# Usage: scripts/train-noise.sh [DATA_DIR] [CACHE_DIR] [SWAP_CACHE_DIR]
#   (defaults ../shared/data, /work/cache/cues/noise, CACHE_DIR/swaps-seed1)  N_SWAPS=16
#   UNMASK=path/to/unmask  SEED=1  SKIP_INSTALL=1 (train into CACHE/run only)  SKIP_TRAIN=1 (install CACHE/run)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$(cd "${1:-$ROOT/../shared/data}" && pwd)"
CACHE="${2:-/work/cache/cues/noise}"
TEMPORAL_CACHE="${3:-$CACHE/swaps-seed1}"
N_SWAPS="${N_SWAPS:-16}"
UNMASK="${UNMASK:-$ROOT/build/unmask}"
[[ -x "$UNMASK" ]] || UNMASK="$ROOT/build/src/cli/unmask"
[[ -x "$UNMASK" ]] || { echo "no unmask binary: build it or set UNMASK" >&2; exit 3; }
SEED="${SEED:-1}"
INSTALL_DIR="${INSTALL_DIR:-$ROOT/models/off}"
mkdir -p "$CACHE/run" "$INSTALL_DIR"
source "$ROOT/scripts/lib/mark-reals.sh"

built="$(sha256sum "$UNMASK" | cut -c1-16)"
if [[ -s "$CACHE/made-with.txt" && "$(cat "$CACHE/made-with.txt")" != "$built" ]]; then
  echo "warning: $CACHE was filled by another unmask build ($(cat "$CACHE/made-with.txt")); new marked clips or swaps would mix mark versions: use a fresh cache" >&2
fi
[[ -s "$CACHE/made-with.txt" ]] || echo "$built" > "$CACHE/made-with.txt"
if [[ ! -s "$TEMPORAL_CACHE/train_manifest.csv" ]]; then
  UNMASK="$UNMASK" SEED="$SEED" N_SWAPS="$N_SWAPS" SKIP_TRAIN=1 nice -n 10 "$ROOT/scripts/train-temporal.sh" "$DATA" "$TEMPORAL_CACHE"
fi

# The temporal manifest's columns: path,label,source_repo,method; reals are DATA paths.
MANIFEST="$CACHE/train_manifest.csv"
n_marked=0
{
  echo "path,label,source_repo,method"
  tail -n +2 "$TEMPORAL_CACHE/train_manifest.csv" | while IFS=, read -r path label repo method; do
    if [[ "$label" == real ]]; then
      marked="$(marked_real "$UNMASK" "$DATA" "${path#"$DATA"/}" "$CACHE/marked")"
      [[ -n "$marked" ]] && echo "$marked,real,$repo,marked and re-encoded (CRF 18)"
    else
      echo "$path,$label,$repo,$method"
    fi
  done
} > "$MANIFEST"
echo "manifest: $MANIFEST ($(grep -c ',real,' "$MANIFEST") marked reals, $(grep -c ',fake,' "$MANIFEST") swaps)"

export OMP_WAIT_POLICY=passive
if [[ -z "${SKIP_TRAIN:-}" ]]; then
  nice -n 10 "$UNMASK" -v train --detector noise --manifest "$MANIFEST" --out "$CACHE/run/noise.unm" --seed "$SEED" \
    --cache "$CACHE" --threads 2
fi
[[ -n "${SKIP_INSTALL:-}" ]] && exit 0
cp "$CACHE/run/noise.unm" "$INSTALL_DIR/noise.unm"
python3 - "$CACHE/run/noise.card.json" "$INSTALL_DIR/noise.card.json" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
card["data"]["manifest"] = "built by scripts/train-noise.sh (the manifest of SKIP_TRAIN=1 scripts/train-temporal.sh, seed 1, with every real replaced by its marked copy; under the cache folder)"
card["data"]["real"] = ("real videos >= 2.5 s of rizkiarm/LipNet, smeetrs/deep_avsr, KwaiVGI/LivePortrait, "
    "AliaksandrSiarohin/first-order-model, yoyo-nb/Thin-Plate-Spline-Motion-Model, each watermarked and re-encoded "
    "as unmask synth does (unmask mark embed --issuer 0: x264 CRF 18, mark-preserving options)")
card["data"]["fake"] = (f"{card['data']['n_videos']['fake']} landmark face swaps (unmask synth swap, poisson/alpha blend, "
    "reinhard/histogram colour) between those clips, the first of scripts/train-temporal.sh's seed-1 pairing, made by the "
    "same unmask build as the marked reals")
card["data"]["held_out_sources"] = ["GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking", "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM"]
card["command"] = "scripts/train-noise.sh (" + card.get("command", "") + ")"
json.dump(card, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
PY
echo "wrote $INSTALL_DIR/noise.unm and $INSTALL_DIR/noise.card.json"
