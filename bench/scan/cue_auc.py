# AUC of per-video cues read in a direction fixed beforehand, over all videos, per source with both
# classes, and for each fake-only source against every real video, from a probe's CSV
# (path,source,label,...; label 1 = fake; an empty cue = not judged).
# Usage: python3 cue_auc.py CUES.csv CUE:low|high [CUE:low|high ...]   ("low" = a low value means fake)
import csv, sys
from collections import defaultdict
def auc(pos, neg):
    if not pos or not neg: return float('nan')
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
rows = list(csv.DictReader(open(sys.argv[1])))
for spec in sys.argv[2:]:
    cue, direction = spec.split(':')
    sign = -1.0 if direction == 'low' else 1.0
    judged = [(r['source'], r['label'] == '1', sign * float(r[cue])) for r in rows if r[cue] not in ('', 'nan')]
    fakes = [s for _, f, s in judged if f]; reals = [s for _, f, s in judged if not f]
    print(f"{cue} ({direction} = fake): judged {len(judged)} of {len(rows)} ({len(reals)} real, {len(fakes)} fake): AUC {auc(fakes, reals):.3f}")
    by = defaultdict(lambda: ([], []))
    for src, f, s in judged: by[src][0 if f else 1].append(s)
    for src, (fk, rl) in sorted(by.items()):
        if fk and rl: print(f"  {src} ({len(rl)} v {len(fk)}): {auc(fk, rl):.3f}")
        elif fk: print(f"  {src} ({len(fk)} fakes) v all {len(reals)} reals: {auc(fk, reals):.3f}")
