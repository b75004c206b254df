"""What `make serve` installs: the size of a fresh runtime venv and how fast the web app imports.

    python benchmarks/runtime_install.py [--source PATH] [--runs N] [--json]

Creates a venv in a temporary folder, runs a plain ``pip install SOURCE`` (the runtime: no
extras), then reports the venv's size on disk, the largest installed packages, and the import
time of the modules ``cloudatlas serve`` loads (``-X importtime`` of ``cloudatlas.server.app``
and ``cloudatlas.inference``, the wall time of a ``python -c`` importing them, and the wall time
of ``cloudatlas serve --help``, which imports the app only when it runs), each the median of
``--runs``. Point
``--source`` at another checkout (``git worktree add /tmp/before HEAD``) to compare commits.

Measured (2 busy cores): with matplotlib in the base dependencies 506 MB and 40 distributions;
with it moved to the ``plots`` extra 431 MB and 32. Serve's imports take ~300 ms (importtime)
either way: they never imported matplotlib. The largest part left is scipy (143 MB with its
.libs), which only ``imagehash`` needs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What `cloudatlas serve` imports before it can answer: the app, and the inference API under it.
SERVE_MODULES = "import cloudatlas.server.app, cloudatlas.inference"
HEAVY = ("matplotlib", "torch", "sklearn", "scipy", "onnx", "PIL", "numpy", "onnxruntime")


def tree_mb(path: Path) -> float:
    """Bytes of the files under ``path`` (links not followed), in MB."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            p = Path(folder) / name
            if not p.is_symlink():
                total += p.stat().st_size
    return total / 1e6


def largest_packages(site: Path, n: int = 10) -> list[tuple[str, float]]:
    """The ``n`` biggest top-level entries of site-packages (a package's .libs folder counts apart)."""
    sizes = [(p.name, tree_mb(p) if p.is_dir() else p.stat().st_size / 1e6) for p in site.iterdir()
             if not p.name.endswith((".dist-info", ".pth")) and p.name != "__pycache__"]
    return sorted(sizes, key=lambda x: -x[1])[:n]


def import_ms(python: Path) -> float:
    """Cumulative ``-X importtime`` of cloudatlas.server.app + cloudatlas.inference, in ms."""
    err = subprocess.run([str(python), "-X", "importtime", "-c", SERVE_MODULES], capture_output=True,
                         text=True, check=True).stderr
    total = 0
    for line in err.splitlines():  # "import time:  self [us] | cumulative | imported package"
        m = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s?(\S.*)$", line)
        if m and m.group(2) in ("cloudatlas.server.app", "cloudatlas.inference"):
            total += int(m.group(1))  # the two are top-level entries: their sum is the whole cost
    return total / 1000


def wall_ms(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    return (time.perf_counter() - start) * 1000


def measure(source: Path, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="cloudatlas-runtime-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python, exe = venv / "bin" / "python", venv / "bin" / "cloudatlas"
        start = time.perf_counter()
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True)
        install_s = time.perf_counter() - start
        site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
        dists = json.loads(subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                                          capture_output=True, text=True, check=True).stdout)
        probe = (f"import sys; {SERVE_MODULES}; "
                 f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
        loaded = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                                check=True).stdout.strip()
        wall_ms([str(exe), "serve", "--help"])  # warm the page cache once; not counted
        return {
            "source": str(source),
            "venv_mb": round(tree_mb(venv), 1),
            "site_packages_mb": round(tree_mb(site), 1),
            "distributions": len(dists),
            "matplotlib_installed": any(d["name"].lower() == "matplotlib" for d in dists),
            "largest_packages_mb": {name: round(mb, 1) for name, mb in largest_packages(site)},
            "serve_imports_ms": round(statistics.median(import_ms(python) for _ in range(runs)), 1),
            "serve_imports_wall_ms": round(statistics.median(wall_ms([str(python), "-c", SERVE_MODULES])
                                                             for _ in range(runs)), 1),
            "serve_help_ms": round(statistics.median(wall_ms([str(exe), "serve", "--help"])
                                                     for _ in range(runs)), 1),
            "heavy_modules_imported_by_serve": loaded.split(",") if loaded else [],
            "install_s": round(install_s, 1),
            "runs": runs,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=ROOT, help="checkout to install (default: this one)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per figure; the median counts")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    result = measure(args.source.resolve(), args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"runtime install of {result['source']}: {result['venv_mb']:.0f} MB venv "
          f"({result['site_packages_mb']:.0f} MB site-packages, {result['distributions']} distributions, "
          f"matplotlib {'in' if result['matplotlib_installed'] else 'not'} installed; "
          f"pip took {result['install_s']:.0f} s)")
    print("largest: " + ", ".join(f"{k} {v:.0f} MB" for k, v in result["largest_packages_mb"].items()))
    print(f"serve imports (median of {result['runs']}): {result['serve_imports_ms']:.0f} ms by -X importtime, "
          f"{result['serve_imports_wall_ms']:.0f} ms wall for the whole python -c; "
          f"`cloudatlas serve --help`: {result['serve_help_ms']:.0f} ms; heavy modules loaded: "
          f"{', '.join(result['heavy_modules_imported_by_serve']) or 'none'}")


if __name__ == "__main__":
    main()
