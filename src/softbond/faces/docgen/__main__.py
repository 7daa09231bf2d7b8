import sys

from . import write_all

if len(sys.argv) != 2:
    print("usage: python3 -m softbond.faces.docgen OUTDIR", file=sys.stderr)
    sys.exit(2)
for path in write_all(sys.argv[1]):
    print(path)
