"""Run every benchmark and print its figures (no assertions: targets are in the README)."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in ("accuracy.py", "answer_views.py", "latency.py", "train_time.py", "load_server.py", "page.py",
               "batch.py", "data_tools.py", "runtime_install.py"):
    if (HERE / script).exists():
        print(f"\n== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], cwd=HERE, check=False)
