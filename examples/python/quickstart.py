#!/usr/bin/env python3
"""The seeds' "getting started", with crew: the same steps, calling C++ functions the engines
registered (examples/demo_functions.cpp: mul, square, price, ...) instead of Python ones.

    crew cluster start -n 4 --plugin <build>/examples/libcrew_demo_functions.so
    python3 examples/python/quickstart.py            # [--profile NAME] [--plugin PATH]
    crew cluster stop
"""

import argparse

import numpy as np

import crew

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--profile", default="default")
parser.add_argument("--plugin", help="load this plugin of functions into the engines first")
args = parser.parse_args()

rc = crew.Client(profile=args.profile)
print("engines:", rc.ids)
if args.plugin:
    rc[:].load_plugin(args.plugin, block=True)

# One engine, then all of them: f(*args) becomes view.apply(f, *args).
print("rc[0].apply_sync('mul', 5, 6) =", rc[0].apply_sync("mul", 5, 6))
print("rc[:].apply_sync('mul', 5, 6) =", rc[:].apply_sync("mul", 5, 6))
for s in rc[:].apply_sync("summary"):
    print("  engine %(engine_id)d: rank %(rank)d of %(world_size)d on %(host)s, pid %(pid)d" % s)

# Python's map(mul, range(1, 10), range(2, 11)), in parallel and load-balanced.
view = rc.load_balanced_view()
products = view.map("mul", range(1, 10), range(2, 11)).get(timeout=60)
print("view.map('mul', range(1, 10), range(2, 11)) =", products.tolist())
assert products.tolist() == [a * b for a, b in zip(range(1, 10), range(2, 11))]

# An AsyncResult: submit now, collect later.
ar = view.map("price", np.linspace(80.0, 120.0, 400), [0.2] * 400, chunksize=50)
ar.wait_interactive()
prices = ar.get()
print("call prices for spots 80..120: %.2f .. %.2f (at the money: %.2f)" % (prices[0], prices[-1], prices[200]))

# Data lives on the engines: scatter, compute there, gather.
dv = rc[:]
dv.scatter("x", np.arange(16.0), block=True)
print("pieces per engine:", [len(p) for p in dv.pull("x", block=True)])
print("gathered back:", dv.gather("x", block=True)[:6], "...")

# A failure on the engines comes back as an exception with crew's code.
try:
    rc[0].apply_sync("price", -1.0, 0.2)
except crew.RemoteError as e:
    print("caught", e.code, "from engine", e.engine_id, "-", e.remote_message)
rc.close()
