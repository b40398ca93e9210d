#!/usr/bin/env python3
"""Does the expression detector's score depend on how long the clip is? A probe on project data.

The expression detector (src/detect/expression.cpp) averages the brow's range over 2 s windows
(1 s apart) and maps the log of that mean to P(fake) with one logistic fitted on one row a video.
A short clip gives one or two windows, so its mean is noisier and, brow movements being sparse,
more often low: a still-looking real. This probe measures that on the detector's own training
videos (the reals and animated stills of scripts/train-expression.sh), with no manifest video:

  * every training video is tracked by `unmask faces` (landmarks of its longest track);
  * 5-fold cross-validation by twin pair (a real video and the still animated from it share a fold);
  * each held-out video is cut to a sub-clip of L seconds (its middle one of those starting every
    second) for L in 2 .. 8 s, and scored two ways:
      full   - the shipped form: one logistic on each training video's whole-length feature;
      bucket - one logistic per window count (1, 2, 3-4, 5-7, 8+), each fitted on training
               sub-clips of that many windows (length-matched rows, up to 3 per video and length).
Prints AUC, log loss and reals at 0.5 or more for each L and form.

The brow raise, running median and windows are the Python twins of brow_raise, running_median
and add_window_ranges in expression.cpp (same constants); the logistic is fitted by Newton's method
with a small L2 penalty, not by the project's trainer, so the numbers are for comparing the two
forms, not the shipped model's own.

Usage: bench/expression/window_count_probe.py --unmask build/src/cli/unmask \
           --cache /work/cache/expression --work /tmp/expr-probe
(--cache is train-expression.sh's folder: train_manifest.csv and animated.log.)
"""
import argparse
import csv
import json
import math
import os
import random
import subprocess
import sys

LENGTHS_S = [2, 2.6, 3, 4, 5, 6, 8]
BUCKET_EDGES = [1, 2, 4, 7]  # window counts: <=1, <=2, <=4, <=7, more


def brow_raise(l):
    def mean(a, b):
        pts = l[a:b + 1]
        return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    left, right = mean(36, 41), mean(42, 47)
    dx, dy = right[0] - left[0], right[1] - left[1]
    iod = math.hypot(dx, dy)
    if iod <= 1e-3:
        return None
    c, s = dx / iod, dy / iod
    mx, my = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
    below = lambda p: -s * (p[0] - mx) + c * (p[1] - my)
    nose = below(l[30])
    if not nose > 0.1 * iod:
        return None
    return -sum(below(l[i]) for i in range(17, 27)) / 10 / nose


def running_median(x, width=5):
    half, n = width // 2, len(x)
    out = []
    for t in range(n):
        w = sorted(x[max(0, t - half):min(n, t + half + 1)])
        out.append(w[len(w) // 2])
    return out


def window_ranges(values, fps):
    n = len(values)
    x = running_median(values)
    window, hop = min(n, round(2 * fps)), max(1, round(fps))
    return [max(x[s:s + window]) - min(x[s:s + window]) for s in range(0, n - window + 1, hop)]


def feature(ranges):
    return math.log(sum(ranges) / len(ranges) + 1e-3)


def fit_logistic(xs, ys, l2=1e-3, iters=100):
    """Intercept and slope of a one-feature logistic regression (Newton's method)."""
    b = w = 0.0
    for _ in range(iters):
        gb = gw = hbb = hbw = hww = 0.0
        for x, y in zip(xs, ys):
            p = 1 / (1 + math.exp(-max(-30, min(30, b + w * x))))
            gb += p - y
            gw += (p - y) * x
            q = p * (1 - p)
            hbb += q
            hbw += q * x
            hww += q * x * x
        gw += l2 * w
        hww += l2
        det = hbb * hww - hbw * hbw + 1e-12
        db, dw = (hww * gb - hbw * gw) / det, (hbb * gw - hbw * gb) / det
        b, w = b - db, w - dw
        if max(abs(db), abs(dw)) < 1e-9:
            break
    return b, w


def predict(model, x):
    b, w = model
    return 1 / (1 + math.exp(-max(-30, min(30, b + w * x))))


def auc(pos, neg):
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / len(pos) / len(neg)


def log_loss(ps, ys):
    eps = 1e-6
    return -sum(math.log(min(max(p, eps), 1 - eps)) if y else math.log(1 - min(max(p, eps), 1 - eps))
                for p, y in zip(ps, ys)) / len(ps)


def bucket(n_windows):
    return sum(n_windows > e for e in BUCKET_EDGES)


def sub_clips(video, length_s):
    n, fps = len(video["raise"]), video["fps"]
    m, hop = round(length_s * fps), round(fps)
    return [window_ranges(video["raise"][s:s + m], fps) for s in range(0, n - m + 1, hop)] if m <= n else []


def load_videos(args):
    twin_of = {}
    with open(os.path.join(args.cache, "animated.log")) as f:
        for line in f:
            still, real = line.strip().split(",", 1)
            twin_of[still] = real
    videos = []
    with open(os.path.join(args.cache, "train_manifest.csv"), newline="") as f:
        for k, row in enumerate(csv.DictReader(f)):
            out = os.path.join(args.work, "%03d" % k)
            if not os.path.exists(os.path.join(out, "tracks.json")):
                subprocess.run([args.unmask, "-q", "faces", "--no-crops", "--out", out, row["path"]],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                tracks = json.load(open(os.path.join(out, "tracks.json")))
            except (OSError, ValueError):
                continue
            if not tracks["tracks"]:
                continue
            longest = max(tracks["tracks"], key=lambda t: len(t["frames"]))
            raises = [brow_raise(fr["landmarks"]) for fr in longest["frames"] if fr.get("landmarks")]
            raises = [r for r in raises if r is not None]
            fps = tracks["fps"]
            if len(raises) < 10 or len(raises) / fps < 2:
                continue
            real_path = twin_of.get(row["path"], row["path"])
            videos.append({"label": int(row["label"] == "fake"), "fps": fps, "raise": raises, "twin": real_path})
    return videos


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unmask", required=True)
    ap.add_argument("--cache", required=True, help="train-expression.sh's cache folder")
    ap.add_argument("--work", required=True, help="folder for the tracks (kept for reruns)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    videos = load_videos(args)
    if not videos:
        sys.exit("window_count_probe: no usable video")
    twins = sorted({v["twin"] for v in videos})
    random.Random(args.seed).shuffle(twins)
    fold_of = {t: i % 5 for i, t in enumerate(twins)}
    for v in videos:
        v["fold"] = fold_of[v["twin"]]
        v["ranges"] = window_ranges(v["raise"], v["fps"])
    print("videos: %d real, %d animated stills" % (sum(1 for v in videos if not v["label"]),
                                                     sum(1 for v in videos if v["label"])))
    scores = {form: {L: ([], []) for L in LENGTHS_S} for form in ("full", "bucket")}
    for fold in range(5):
        train = [v for v in videos if v["fold"] != fold]
        full = fit_logistic([feature(v["ranges"]) for v in train], [v["label"] for v in train])
        by_bucket = {}
        for b in range(len(BUCKET_EDGES) + 1):
            xs, ys = [], []
            for v in train:
                for L in [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15]:
                    clips = [r for r in sub_clips(v, L) if bucket(len(r)) == b]
                    for r in clips[::max(1, len(clips) // 3)][:3]:
                        xs.append(feature(r))
                        ys.append(v["label"])
            by_bucket[b] = fit_logistic(xs, ys) if len(set(ys)) == 2 else None

        def bucket_model(n_windows):
            b = bucket(n_windows)
            while by_bucket[b] is None:
                b -= 1
            return by_bucket[b]

        for v in (v for v in videos if v["fold"] == fold):
            for L in LENGTHS_S:
                clips = sub_clips(v, L)
                if not clips:
                    continue
                r = clips[len(clips) // 2]
                for form, model in (("full", full), ("bucket", bucket_model(len(r)))):
                    scores[form][L][0].append(predict(model, feature(r)))
                    scores[form][L][1].append(v["label"])
    print("\n| clip length | n real / fake | form | AUC | log loss | reals >= 0.5 |\n|---|---|---|---|---|---|")
    for L in LENGTHS_S:
        for form in ("full", "bucket"):
            ps, ys = scores[form][L]
            pos = [p for p, y in zip(ps, ys) if y]
            neg = [p for p, y in zip(ps, ys) if not y]
            print("| %.1f s | %d / %d | %s | %.3f | %.3f | %d |" % (L, len(neg), len(pos), form, auc(pos, neg),
                                                                 log_loss(ps, ys), sum(p >= 0.5 for p in neg)))


if __name__ == "__main__":
    main()
