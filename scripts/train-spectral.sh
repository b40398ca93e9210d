#!/usr/bin/env bash
# Trains the shipped spectral detector (models/spectral.unm + models/spectral.card.json) from the
# shared data set. The training manifest is built at run time under the cache folder (never
# committed):
#   fake: every a312863063/seeprettyface-* image (StyleGAN: 128 px grid tiles, single generated
#         faces, latent-edit strips whose faces are all used)
#   real: delonyohan/deeplearn-agepred (UTKFace; of the 4-in-5 files the blend detector trains on,
#         every 3rd, so the every-5th files stay unseen by both), andrew-valentin (CelebA sample),
#         AliaksandrSiarohin/first-order-model photos, and 6 frames of every real video of the
#         non-held-out video sources (LipNet, deep_avsr, LivePortrait, first-order-model,
#         Thin-Plate-Spline-Motion-Model, V-Express), so compressed video frames are in the real
#         class.
# Held out for evaluation (bench/spectral): Chirayu-N/NameGame (thispersondoesnotexist StyleGAN2)
# fakes, muxspace/facial_expressions (LFW, grey) and hakawa-bernardi (ORL, grey) reals, the
# MesoNet crops, and the held-out video sources of the blend detector's plan.
#
# Usage: scripts/train-spectral.sh [--seed S] [--epochs N] [--resume] [--build DIR] [--data DIR] [--cache DIR]
# About 10-20 minutes on 2 cores (face finding dominates; crops are cached for re-runs).
set -euo pipefail

source "$(dirname "$0")/lib/train-common.sh"
parse_train_options /work/cache/spectral 0 11 "$@"
find_unmask
mkdir -p "$cache/run"

manifest="$cache/spectral-train-manifest.csv"
python3 - "$data" "$manifest" "${UNMASK_HELD_OUT_VIDEO_SOURCES[@]}" <<'PY'
import csv, os, sys
data, out = sys.argv[1], sys.argv[2]
real_images = {"delonyohan/deeplearn-agepred", "andrew-valentin/HumanFaceImageGenerator",
               "AliaksandrSiarohin/first-order-model"}
real_videos = {"rizkiarm/LipNet", "smeetrs/deep_avsr", "KwaiVGI/LivePortrait",
               "AliaksandrSiarohin/first-order-model", "yoyo-nb/Thin-Plate-Spline-Motion-Model",
               "tencent-ailab/V-Express"}
held_out = {"Chirayu-N/NameGame", "muxspace/facial_expressions",
            "hakawa-bernardi/orl-face-recognition-pca-svm", "DariusAf/MesoNet"} | set(sys.argv[3:])
assert not (held_out & (real_images | real_videos))
rows = []
with open(os.path.join(data, "MANIFEST.csv"), newline="") as f:
    for r in csv.DictReader(f):
        src = r["source_repo"]
        if src in held_out:
            continue
        fake = r["kind"] == "image" and r["label"] == "fake" and src.startswith("a312863063/seeprettyface")
        real = r["label"] == "real" and ((r["kind"] == "image" and src in real_images) or
                                         (r["kind"] == "video" and src in real_videos))
        if fake or real:
            rows.append(r)
rows.sort(key=lambda r: r["path"])
utk = [r for r in rows if r["source_repo"] == "delonyohan/deeplearn-agepred"]
blend_train = [r for i, r in enumerate(utk) if i % 5 != 4]
keep_utk = {r["path"] for i, r in enumerate(blend_train) if i % 3 == 0}
n = {"real": 0, "fake": 0}
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["path", "kind", "label", "source_repo", "method"])
    for r in rows:
        if r["source_repo"] == "delonyohan/deeplearn-agepred" and r["path"] not in keep_utk:
            continue
        w.writerow([os.path.join(data, r["path"]), r["kind"], r["label"], r["source_repo"], r["method"]])
        n[r["label"]] += 1
print(f"spectral training manifest: {n['real']} real, {n['fake']} fake items -> {out}", file=sys.stderr)
PY

export OMP_WAIT_POLICY=passive
"$unmask" -v train --manifest "$manifest" --out "$cache/run/spectral.unm" --epochs "$epochs" --seed "$seed" \
  --detector spectral --cache "$cache" --threads 2 $resume

install_model spectral '
card["data"]["manifest"] = "built by scripts/train-spectral.sh from MANIFEST.csv (under the cache folder)"
card["data"]["held_out_sources"] = [
    "Chirayu-N/NameGame (fake)", "muxspace/facial_expressions (LFW, real)",
    "hakawa-bernardi/orl-face-recognition-pca-svm (ORL, real)", "DariusAf/MesoNet",
    "GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking",
    "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM", "every 5th UTKFace file"]
'
