import json,collections,statistics,sys
d=collections.defaultdict(list)
for l in open(sys.argv[1]):
    try: r=json.loads(l)
    except: continue
    v=r.get('value')
    if not isinstance(v,(int,float)): continue
    d[(r.get('workload'),r.get('engines') or r.get('n'),r['build'])].append(v)
keys=sorted({(w,n) for (w,n,b) in d}, key=lambda k:(str(k[0]),k[1]))
for w,n in keys:
    row=[]
    for b in ['base','new','limit','mpi4py']:
        if (w,n,b) in d:
            xs=d[(w,n,b)]; row.append(f"{b} med {statistics.median(xs):.4g} [{min(xs):.4g}..{max(xs):.4g}]")
    ratio=''
    if (w,n,'base') in d and (w,n,'new') in d:
        ratio=f"new/base {statistics.median(d[(w,n,'new')])/statistics.median(d[(w,n,'base')]):.2f}"
    print(f"{w:45} N={n} {ratio:14} "+' | '.join(row))
