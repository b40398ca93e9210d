#!/usr/bin/env bash
# Trains the shipped detector weights (models/blend.unm + models/blend.card.json) from the shared
# data set. The training manifest is built at run time under the cache folder (never committed):
# REAL faces only (the blend detector makes its own pseudo-fakes by self-blending), from
#   images: delonyohan/deeplearn-agepred (UTKFace; 4 of every 5 files, the 5th never seen) and
#           andrew-valentin/HumanFaceImageGenerator (CelebA sample)
#   videos: rizkiarm/LipNet, smeetrs/deep_avsr, KwaiVGI/LivePortrait,
#           AliaksandrSiarohin/first-order-model (videos and photos)
# Held out (never trained on, so evaluation is on media the detector never saw): every source with
# fake videos (GipalLee/Deepfake_detection, ai-forever/ghost, OpenTalker/SadTalker,
# Zz-ww/SadTalker-Video-Lip-Sync), OpenTalker/video-retalking, Hangz-nju-cuhk/Talking-Face_PC-AVS,
# jixinya/EAMM, every other source, and all fake images.
#
# Usage: scripts/train-models.sh [--epochs N] [--resume] [--build DIR] [--data DIR] [--cache DIR]
# Runs for about an hour on 2 cores; run it with nohup and a log, re-run with --resume after an
# interruption.
set -euo pipefail

source "$(dirname "$0")/lib/train-common.sh"
parse_train_options /work/cache/blend 6 7 "$@"
find_unmask
mkdir -p "$cache/run"

manifest="$cache/train-manifest.csv"
python3 - "$data" "$manifest" "${UNMASK_HELD_OUT_VIDEO_SOURCES[@]}" <<'PY'
import csv, os, sys
data, out = sys.argv[1], sys.argv[2]
image_sources = {"delonyohan/deeplearn-agepred", "andrew-valentin/HumanFaceImageGenerator",
                 "AliaksandrSiarohin/first-order-model"}
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
# UTKFace: every 5th file stays out of training (an unseen real-photo set for bench/blend).
utk = [r for r in rows if r["source_repo"] == "delonyohan/deeplearn-agepred"]
skip = {r["path"] for i, r in enumerate(utk) if i % 5 == 4}
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
"$unmask" -v train --manifest "$manifest" --out "$cache/run/blend.unm" \
  --epochs "$epochs" --seed "$seed" --detector blend --cache "$cache" --threads 2 $resume

install_model blend '
card["data"]["trained_on_sources"] = {
    "images": ["delonyohan/deeplearn-agepred (UTKFace, 4 of every 5 files by sorted path)",
               "andrew-valentin/HumanFaceImageGenerator (CelebA sample)",
               "AliaksandrSiarohin/first-order-model (photos)"],
    "videos": ["rizkiarm/LipNet", "smeetrs/deep_avsr", "KwaiVGI/LivePortrait",
               "AliaksandrSiarohin/first-order-model"]}
card["data"]["held_out_sources"] = [
    "GipalLee/Deepfake_detection", "ai-forever/ghost", "OpenTalker/SadTalker",
    "Zz-ww/SadTalker-Video-Lip-Sync", "OpenTalker/video-retalking",
    "Hangz-nju-cuhk/Talking-Face_PC-AVS", "jixinya/EAMM",
    "every other source of MANIFEST.csv", "every fake image", "every 5th UTKFace file"]
card["data"]["labels_used"] = "real only; fakes are self-blended images made during training"
'
