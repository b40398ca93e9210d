#!/usr/bin/env python3
"""Which track rule and quality gate rank a set's videos best, from blend_probe's frames.csv.

    bench/blend/track_rule_table.py FRAMES.csv SET_MANIFEST.csv [LAP_MIN]

SET_MANIFEST.csv: path,kind,label,source_repo,... (the fusion set's MANIFEST.csv). Items of
yoyo-nb/Thin-Plate-Spline-Motion-Model are left out (a source blend never trained on: not to be
used for choosing). Per video: per track (tracks under 3 frames dropped when a longer one exists,
as scan's fusion does) the chosen statistic of the judged frames' logits, then the max over
tracks; 0.5 for a track with no judged frame. Prints AUC of unmask/synth-swap fakes (and of
unmask/synth-dub fakes) against the reals, log loss and false alarms, for each gate and rule.
LAP_MIN defaults to the 5th percentile of the real frames' centre Laplacian variance.
"""
import csv, math, sys
frames_csv, manifest = sys.argv[1], sys.argv[2]
lap_min = float(sys.argv[3]) if len(sys.argv) > 3 else None
lab = {}
for r in csv.DictReader(open(manifest)):
    if 'Thin-Plate' in r['source_repo']: continue  # held-out source: not used to choose
    lab[r['path']] = (r['label'], r['source_repo'])
rows = [r for r in csv.DictReader(open(frames_csv)) if r['file'] in lab]
def logit(p):
    q = min(max(p, 1e-6), 1 - 1e-6); return math.log(q / (1 - q))
sig = lambda x: 1 / (1 + math.exp(-x))
def top_quarter(l):
    l = sorted(l, reverse=True); n = max(1, len(l) // 4); return sum(l[:n]) / n
def median(l):
    l = sorted(l); n = len(l); return l[n // 2] if n % 2 else (l[n // 2 - 1] + l[n // 2]) / 2
def mean(l): return sum(l) / len(l)
def iq_mean(l):
    l = sorted(l); n = len(l); a, b = n // 4, n - n // 4
    if b <= a: return median(l)
    return sum(l[a:b]) / (b - a)
def p75(l):
    l = sorted(l); return l[int(0.75 * (len(l) - 1))]
aggs = {'top quarter (shipped)': top_quarter, 'median': median, 'mean': mean, 'inter-quartile mean': iq_mean, '75th pct': p75}
lap_vals = sorted(float(r['centre_lap_var']) for r in rows if lab[r['file']][0] == 'real')
p5 = lap_vals[int(0.05 * (len(lap_vals) - 1))]
print('real frames: %d, centre lap var 5th percentile %.1f, median %.1f' % (len(lap_vals), p5, lap_vals[len(lap_vals) // 2]))
if lap_min is None: lap_min = p5
gates = {
    'off': lambda r: True,
    'luma 50-210': lambda r: 50 <= float(r['centre_luma']) <= 210,
    'luma + lap >= %.1f' % lap_min: lambda r: 50 <= float(r['centre_luma']) <= 210 and float(r['centre_lap_var']) >= lap_min,
}
def auc(pos, neg):
    if not pos or not neg: return float('nan')
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))
files = sorted(lab)
print('| gate | aggregate | swaps v reals AUC | dubs v reals AUC | log loss swaps+reals | reals >= 0.5 | swaps >= 0.5 | frames judged | videos without a judged frame |')
print('|---|---|---|---|---|---|---|---|---|')
for gname, g in gates.items():
    for aname, agg in aggs.items():
        score = {}
        nj = nt = 0; nojudge = 0
        for f in files:
            tracks = {}
            for r in rows:
                if r['file'] != f: continue
                nt += 1
                tracks.setdefault(r['track'], []).append(r)
            long = any(len(t) >= 3 for t in tracks.values())
            best = None
            for t in tracks.values():
                if long and len(t) < 3: continue
                judged = [logit(float(r['score'])) for r in t if g(r)]
                nj += len(judged)
                s = sig(agg(judged)) if judged else 0.5
                best = s if best is None else max(best, s)
            if best is None: continue
            if all(not g(r) for t in tracks.values() for r in t): nojudge += 1
            score[f] = best
        reals = [score[f] for f in score if lab[f][0] == 'real']
        swaps = [score[f] for f in score if lab[f][1] == 'unmask/synth-swap']
        dubs = [score[f] for f in score if lab[f][1] == 'unmask/synth-dub']
        ll = [-math.log(1 - min(max(s, 1e-6), 1 - 1e-6)) for s in reals] + [-math.log(min(max(s, 1e-6), 1 - 1e-6)) for s in swaps]
        print('| %s | %s | %.3f | %.3f | %.3f | %d/%d | %d/%d | %d/%d | %d |' % (gname, aname, auc(swaps, reals), auc(dubs, reals), sum(ll) / len(ll),
              sum(s >= 0.5 for s in reals), len(reals), sum(s >= 0.5 for s in swaps), len(swaps), nj, nt, nojudge))
