#!/usr/bin/env python3
"""Per-video scores of one detector from two `bench_scan --dump` files (before, after), side by side.

    bench/blend/compare_scores.py OLD.csv NEW.csv [--detector blend] [--threshold 0.5]

Prints, for each file: the detector's video AUC over all videos, over the held-out videos (every
source the blend detector never trained on), its false-alarm rate on held-out real videos (score
>= threshold), the mean score of reals and fakes per source, and the per-source AUC where a
source has both classes. Training sources: the video sources of scripts/train-models.sh.
"""
import csv
import sys

TRAINED = {"rizkiarm/LipNet", "smeetrs/deep_avsr", "KwaiVGI/LivePortrait", "AliaksandrSiarohin/first-order-model"}


def read(path, detector):
    out = {}
    with open(path, newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for r in rows:
            ev = dict(x.split("=", 1) for x in r["evidence"].split(";") if "=" in x)
            if detector == "fused":
                s = float(r["fused"])
            elif detector in ev:
                s = float(ev[detector])
            else:
                continue
            out[r["path"]] = (r["source"], r["label"], s)
    return out


def auc(pairs):
    pos = [s for l, s in pairs if l == "fake"]
    neg = [s for l, s in pairs if l == "real"]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fmt(v):
    return "-" if v is None else f"{v:.3f}"


def main():
    args = sys.argv[1:]
    detector, threshold = "blend", 0.5
    files = []
    i = 0
    while i < len(args):
        if args[i] == "--detector":
            detector = args[i + 1]
            i += 2
        elif args[i] == "--threshold":
            threshold = float(args[i + 1])
            i += 2
        else:
            files.append(args[i])
            i += 1
    if len(files) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    old, new = read(files[0], detector), read(files[1], detector)
    common = sorted(set(old) & set(new))
    print(f"detector {detector}: {len(common)} videos in both files\n")
    print("| set | n real | n fake | AUC before | AUC after | false alarms before | false alarms after |")
    print("|---|---|---|---|---|---|---|")

    def row(name, keep):
        paths = [p for p in common if keep(old[p][0])]
        po = [(old[p][1], old[p][2]) for p in paths]
        pn = [(new[p][1], new[p][2]) for p in paths]
        reals = [p for p in paths if old[p][1] == "real"]
        fa_o = sum(old[p][2] >= threshold for p in reals)
        fa_n = sum(new[p][2] >= threshold for p in reals)
        nf = len(paths) - len(reals)
        print(f"| {name} | {len(reals)} | {nf} | {fmt(auc(po))} | {fmt(auc(pn))} | {fa_o}/{len(reals)} | {fa_n}/{len(reals)} |")

    row("all videos", lambda s: True)
    row("held-out sources", lambda s: s not in TRAINED)
    row("training sources", lambda s: s in TRAINED)
    print(f"\nfalse alarm: a real video scored >= {threshold}\n")
    print("| source | label | n | mean before | mean after | max before | max after | AUC before | AUC after |")
    print("|---|---|---|---|---|---|---|---|---|")
    sources = sorted({old[p][0] for p in common})
    for src in sources:
        paths = [p for p in common if old[p][0] == src]
        a_o = auc([(old[p][1], old[p][2]) for p in paths])
        a_n = auc([(new[p][1], new[p][2]) for p in paths])
        for label in ("real", "fake"):
            ps = [p for p in paths if old[p][1] == label]
            if not ps:
                continue
            so = [old[p][2] for p in ps]
            sn = [new[p][2] for p in ps]
            tag = src + (" (trained)" if src in TRAINED else "")
            print(f"| {tag} | {label} | {len(ps)} | {sum(so)/len(so):.3f} | {sum(sn)/len(sn):.3f} | {max(so):.3f} | "
                  f"{max(sn):.3f} | {fmt(a_o)} | {fmt(a_n)} |")


if __name__ == "__main__":
    main()
