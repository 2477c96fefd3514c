"""Synthesizes every Python example to YAML and prints, for each workload, the /dev/shm it got and
the containers that mount it: the Python twin of examples/synth.ts.

    python examples/python/synth.py [OUT_DIR]     (default: examples/python/dist)

Run in a Python environment that has cdk8s-shm, cdk8s and cdk8s-plus-33 (`npm run python` makes one;
`npm run examples` runs this too).
"""
import os
import shutil
import sys

from cdk8s import App

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import examples, render_table, shm_rows  # noqa: E402


def main(outdir: str) -> None:
    shutil.rmtree(outdir, ignore_errors=True)
    rows = [["EXAMPLE", "WORKLOAD", "/dev/shm", "MOUNTED BY"]]
    for example in examples():
        app = App(outdir=outdir, output_file_extension=".yaml")
        chart = example.build(app)
        app.synth()
        rows += [[example.name, *row] for row in shm_rows(chart.to_json())]
    print(render_table(rows))
    print(f"\nWrote {len(os.listdir(outdir))} manifests to {os.path.relpath(outdir)}/")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist"))
