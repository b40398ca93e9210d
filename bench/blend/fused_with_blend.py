#!/usr/bin/env python3
"""The max-rule fused score with one detector's scores taken from another dump: what a change of
that detector alone does to the fused AUC and log loss, the other detectors held fixed.

    bench/blend/fused_with_blend.py OLD.csv NEW.csv [--detector blend]

Both files are `bench_scan --dump` outputs. For every video in both, the fused score is
recomputed as the max over NEW's detector scores (the max rule, as scan's fusion without a
fusion.json), once with NEW's `detector` score and once with OLD's in its place. Prints AUC, log
loss and false alarms (reals >= 0.5) over all videos and per source with both classes, and how
far max(evidence) is from NEW's own fused column (0 when no watermark or learned rule decided).
"""
import csv
import math
import sys


def read(path):
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            ev = {k: float(v) for k, v in (x.split("=", 1) for x in r["evidence"].split(";") if "=" in x)}
            out[r["path"]] = (r["source"], r["label"], float(r["fused"]), ev)
    return out


def auc(pos, neg):
    if not pos or not neg:
        return None
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


def log_loss(pairs):
    s = 0.0
    for label, p in pairs:
        q = min(max(p, 1e-6), 1 - 1e-6)
        s -= math.log(q if label == "fake" else 1 - q)
    return s / len(pairs) if pairs else None


def fmt(v):
    return "-" if v is None else f"{v:.3f}"


def main():
    args = sys.argv[1:]
    detector = "blend"
    if "--detector" in args:
        i = args.index("--detector")
        detector = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    old, new = read(args[0]), read(args[1])
    common = sorted(set(old) & set(new))
    worst = max((abs(max(new[p][3].values(), default=0.0) - new[p][2]) for p in common), default=0.0)
    print(f"{len(common)} videos in both; largest |max(evidence) - fused| in NEW: {worst:.4f}\n")

    def fused(p, which):
        ev = dict(new[p][3])
        src = old if which == "old" else new
        if detector in src[p][3]:
            ev[detector] = src[p][3][detector]
        else:
            ev.pop(detector, None)
        return max(ev.values(), default=0.0)

    print(f"| set | n real | n fake | fused AUC ({detector} before) | fused AUC ({detector} after) | log loss before | log loss after | false alarms before | false alarms after |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups = [("all videos", common)]
    for s in sorted({new[p][0] for p in common}):
        ps = [p for p in common if new[p][0] == s]
        if len({new[p][1] for p in ps}) == 2:
            groups.append((s, ps))
    for name, ps in groups:
        cells = []
        for which in ("old", "new"):
            pairs = [(new[p][1], fused(p, which)) for p in ps]
            cells.append(([s for l, s in pairs if l == "fake"], [s for l, s in pairs if l == "real"], pairs))
        nr, nf = len(cells[0][1]), len(cells[0][0])
        print(f"| {name} | {nr} | {nf} | {fmt(auc(cells[0][0], cells[0][1]))} | {fmt(auc(cells[1][0], cells[1][1]))} | "
              f"{fmt(log_loss(cells[0][2]))} | {fmt(log_loss(cells[1][2]))} | {sum(s >= 0.5 for s in cells[0][1])}/{nr} | "
              f"{sum(s >= 0.5 for s in cells[1][1])}/{nr} |")


if __name__ == "__main__":
    main()
