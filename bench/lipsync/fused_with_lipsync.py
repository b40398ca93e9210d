# The lip-sync change alone in the max-rule fusion: per-detector scores of a bench_scan --dump run
# (BEFORE.csv, path,source,label,fused,evidence) with their lipsync entry as it was, replaced by the
# scores of bench_lipsync --scan --dump (AFTER.csv, path,source,label,lipsync,note; empty = not judged),
# and removed; each with and without the noise detector. Prints the lip-sync AUC, reals and fakes at
# 0.5 or more, abstentions, the fused AUC and log loss, and the videos that moved.
# Usage: python3 fused_with_lipsync.py BEFORE.csv AFTER.csv
import csv, math, sys
def auc(s, y):
    pos=[a for a,b in zip(s,y) if b]; neg=[a for a,b in zip(s,y) if not b]
    if not pos or not neg: return float('nan')
    w=sum((p>n)+0.5*(p==n) for p in pos for n in neg)
    return w/(len(pos)*len(neg))
def ll(s,y,eps=1e-15):
    return sum(-(math.log(min(max(p,eps),1-eps)) if t else math.log(1-min(max(p,eps),1-eps))) for p,t in zip(s,y))/len(s)
before=[r for r in csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith('#'))]
after={r['path']:r for r in csv.DictReader(open(sys.argv[2]))}
def ev(r):
    return {k:float(v) for k,v in (kv.split('=') for kv in r['evidence'].split(';') if kv)}
def summary(name, lip):  # lip: path -> score or None
    s=[];y=[];nr=nf=ar=af=hr=hf=0
    for r in before:
        t=r['label']=='fake'; v=lip.get(r['path'])
        if v is None: 
            if t: af+=1
            else: ar+=1
            continue
        s.append(v); y.append(t); hr+= (not t) and v>=0.5; hf+= t and v>=0.5
    print(f"{name}: lipsync judged {len(s)} of {len(before)}, AUC {auc(s,y):.3f}, reals >= 0.5: {hr}, fakes >= 0.5: {hf}, not judged: {ar} reals, {af} fakes")
def fused(name, lip, drop=()):
    s=[];y=[]
    for r in before:
        e={k:v for k,v in ev(r).items() if k!='lipsync' and k not in drop}
        if lip.get(r['path']) is not None: e['lipsync']=lip[r['path']]
        s.append(max(e.values()) if e else 0.0); y.append(r['label']=='fake')
    print(f"  max rule{' without '+','.join(drop) if drop else ''} ({name} lipsync): AUC {auc(s,y):.3f}, log loss {ll(s,y):.3f}")
lip_before={r['path']:ev(r).get('lipsync') for r in before}
lip_after={p:(float(r['lipsync']) if r['lipsync'] else None) for p,r in after.items()}
missing=[r['path'] for r in before if r['path'] not in after]
print('videos in fusion2 not in the new dump:', len(missing))
summary('before (BEFORE.csv)', lip_before)
summary('after (AFTER.csv)', lip_after)
for d in [(), ('noise',)]:
    fused('before', lip_before, d); fused('after', lip_after, d); fused('no', {}, d)
print('\nreals that lip-sync scored >= 0.5 before, and after:')
for r in before:
    if r['label']=='real' and (lip_before.get(r['path']) or 0)>=0.5:
        a=after.get(r['path'],{})
        print(f"  {r['path'][len('/work/shared/data/'):]}: {lip_before[r['path']]:.3f} -> {a.get('lipsync') or 'not judged'} {a.get('note','')}")
print('fakes that lip-sync scored >= 0.5 before, and after:')
for r in before:
    if r['label']=='fake' and (lip_before.get(r['path']) or 0)>=0.5:
        a=after.get(r['path'],{})
        print(f"  {r['path'][len('/work/shared/data/'):]}: {lip_before[r['path']]:.3f} -> {a.get('lipsync') or 'not judged'} {a.get('note','')}")
print('after: reals >= 0.5:')
for p,r in after.items():
    if r['label']=='real' and r['lipsync'] and float(r['lipsync'])>=0.5: print('  ',p[len('/work/shared/data/'):], r['lipsync'])
