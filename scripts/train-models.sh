#!/usr/bin/env bash
# Trains the shipped detector weights (models/blend.unm + models/blend.card.json) from the shared
# data set. The training manifest is built at run time under the cache folder (never committed):
# REAL faces only (the blend detector makes its own pseudo-fakes by self-blending), from
#   images: delonyohan/deeplearn-agepred (UTKFace), hakawa-bernardi/orl-face-recognition-pca-svm
#           (ORL), muxspace/facial_expressions (each: 4 of every 5 files, the 5th never seen),
#           andrew-valentin/HumanFaceImageGenerator (CelebA sample), DariusAf/MesoNet (its reals)
#   videos: rizkiarm/LipNet, smeetrs/deep_avsr, KwaiVGI/LivePortrait,
#           AliaksandrSiarohin/first-order-model (videos and photos), every 2nd frame, up to 300
#           crops per video; at most 1000 crops of any one source (UNMASK_BLEND_* below)
# Version 2 fine-tunes the version-1 weights (UNMASK_BLEND_INIT, default
# $cache/v1/blend.unm.ckpt when that exists, else from scratch) with the video-like augmentation
# and calibrates on the validation VIDEO crops (docs/detectors.md, blend).
# Held out (never trained on, so evaluation is on media the detector never saw): every source with
# fake videos (GipalLee/Deepfake_detection, ai-forever/ghost, OpenTalker/SadTalker,
# Zz-ww/SadTalker-Video-Lip-Sync), OpenTalker/video-retalking, Hangz-nju-cuhk/Talking-Face_PC-AVS,
# jixinya/EAMM, every other source, and all fake images.
#
# Usage: scripts/train-models.sh [--epochs N] [--resume] [--build DIR] [--data DIR] [--cache DIR]
# Runs for about an hour on 2 cores (3 epochs); run it with nohup and a log, re-run with --resume
# after an interruption.
set -euo pipefail

source "$(dirname "$0")/lib/train-common.sh"
parse_train_options /work/cache/blend 3 7 "$@"
find_unmask
mkdir -p "$cache/run"

manifest="$cache/train-manifest.csv"
python3 - "$data" "$manifest" "${UNMASK_HELD_OUT_VIDEO_SOURCES[@]}" <<'PY'
import csv, os, sys
data, out = sys.argv[1], sys.argv[2]
image_sources = {"delonyohan/deeplearn-agepred", "andrew-valentin/HumanFaceImageGenerator",
                 "AliaksandrSiarohin/first-order-model", "hakawa-bernardi/orl-face-recognition-pca-svm",
                 "muxspace/facial_expressions", "DariusAf/MesoNet"}
# Photo sets with a 5th of their files kept back (unseen real photos for bench/blend).
split_sources = {"delonyohan/deeplearn-agepred", "hakawa-bernardi/orl-face-recognition-pca-svm",
                 "muxspace/facial_expressions"}
video_sources = {"rizkiarm/LipNet", "smeetrs/deep_avsr", "KwaiVGI/LivePortrait",
                 "AliaksandrSiarohin/first-order-model"}
held_out = set(sys.argv[3:])
assert not (held_out & (image_sources | video_sources))
rows = []
with open(os.path.join(data, "MANIFEST.csv"), newline="") as f:
    for r in csv.DictReader(f):
        if r["label"] != "real" or r["source_repo"] in held_out:
            continue
        ok = (r["kind"] == "image" and r["source_repo"] in image_sources) or \
             (r["kind"] == "video" and r["source_repo"] in video_sources)
        if ok:
            rows.append(r)
rows.sort(key=lambda r: r["path"])
# UTKFace, ORL, muxspace: every 5th file stays out of training (unseen real photos for bench/blend).
skip = set()
for src in split_sources:
    files = [r for r in rows if r["source_repo"] == src]
    skip |= {r["path"] for i, r in enumerate(files) if i % 5 == 4}
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["path", "kind", "label", "source_repo"])
    n = 0
    for r in rows:
        if r["path"] in skip:
            continue
        w.writerow([os.path.join(data, r["path"]), r["kind"], "real", r["source_repo"]])
        n += 1
print(f"training manifest: {n} real items -> {out}", file=sys.stderr)
PY

export OMP_WAIT_POLICY=passive
export UNMASK_BLEND_VIDEO_EVERY="${UNMASK_BLEND_VIDEO_EVERY:-2}"
export UNMASK_BLEND_VIDEO_MAX="${UNMASK_BLEND_VIDEO_MAX:-300}"
export UNMASK_BLEND_MAX_PER_SOURCE="${UNMASK_BLEND_MAX_PER_SOURCE:-1000}"
export UNMASK_BLEND_LR="${UNMASK_BLEND_LR:-5e-4}"
if [[ -z "${UNMASK_BLEND_INIT:-}" && -f "$cache/v1/blend.unm.ckpt" ]]; then
  export UNMASK_BLEND_INIT="$cache/v1/blend.unm.ckpt"
fi
echo "fine-tuning from: ${UNMASK_BLEND_INIT:-(scratch)}" >&2
"$unmask" -v train --manifest "$manifest" --out "$cache/run/blend.unm" \
  --epochs "$epochs" --seed "$seed" --detector blend --cache "$cache" --threads 2 $resume

# UNMASK_NO_INSTALL=1: leave the model in $cache/run for measuring before it is shipped.
if [[ -n "${UNMASK_NO_INSTALL:-}" ]]; then
  echo "trained $cache/run/blend.unm (not installed: UNMASK_NO_INSTALL)" >&2
  exit 0
fi
install_model blend '
card["data"]["trained_on_sources"] = {
    "images": ["delonyohan/deeplearn-agepred (UTKFace, 4 of every 5 files by sorted path)",
               "hakawa-bernardi/orl-face-recognition-pca-svm (ORL, 4 of every 5 files)",
               "muxspace/facial_expressions (4 of every 5 files)",
               "andrew-valentin/HumanFaceImageGenerator (CelebA sample)",
               "DariusAf/MesoNet (real images)",
               "AliaksandrSiarohin/first-order-model (photos)"],
    "videos": ["rizkiarm/LipNet", "smeetrs/deep_avsr", "KwaiVGI/LivePortrait",
               "AliaksandrSiarohin/first-order-model"]}
card["data"]["held_out_sources"] = [
    "GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking",
    "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM",
    "every other source of MANIFEST.csv", "every fake image",
    "every 5th file of UTKFace, ORL and muxspace"]
import os
if os.environ.get("UNMASK_BLEND_INIT"):
    card["training_init"] = "fine-tuned from the version-1 weights (" + os.environ["UNMASK_BLEND_INIT"] + ")"
card["data"]["labels_used"] = "real only; fakes are self-blended images made during training"
'
