# Paired ratios: each rep runs the builds back to back, so a rep's ratio cancels the machine's drift.
import json,collections,statistics,sys
d={}
for f in sys.argv[1:]:
    for l in open(f):
        try: r=json.loads(l)
        except: continue
        v=r.get('value')
        if not isinstance(v,(int,float)): continue
        d[(f,r['workload'],r['engines'],r['rep'],r['build'])]=v
for other in 'BC':
    ratios=collections.defaultdict(list)
    for (f,w,n,rep,b),v in d.items():
        if b==other and (f,w,n,rep,'A') in d: ratios[(w,n)].append(v/d[(f,w,n,rep,'A')])
    for (w,n),rs in sorted(ratios.items()):
        rs.sort(); print(f"{w:32} N={n} paired {other}/A median {statistics.median(rs):.2f}  (n={len(rs)}, range {rs[0]:.2f}..{rs[-1]:.2f})")
