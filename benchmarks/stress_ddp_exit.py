"""Count how two-rank training runs end: the proof that a DDP run which trains every step exits 0
on every rank, by repetition rather than by retrying.

    python benchmarks/stress_ddp_exit.py                    # 50 runs, both cores kept busy beside them
    python benchmarks/stress_ddp_exit.py --runs 10 --busy 0

Each run is what ``tests/test_ddp.py`` launches: ``torchrun --standalone --nproc_per_node=2 -m
sharpvid.fast.cli train tiny`` on a small synthetic world, 3 steps, a checkpoint at the end.
``--busy`` processes spin (``while True: pass``) beside the runs for the whole time, because load is
what made the exit crash likelier.  A run counts as clean when torchrun exits 0, no rank printed
``terminate called`` and the last checkpoint exists; anything else is printed with the tail of its
stderr.  The last line is ``N passed, M failed``; the exit status is 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = "synthetic:videos=3,frames=12,height=32,width=32"


def one_run(run: Path, timeout: float) -> tuple[bool, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "sharpvid.fast.cli", "train", "tiny", "--out", str(run), "--quiet", "batch=2",
           "n=1", f"data={DATA}", "steps=3", "log_every=1", "sample_every=0", "val_every=0",
           "checkpoint_every=3"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s"
    problems = []
    if proc.returncode != 0:
        problems.append(f"torchrun exit {proc.returncode}")
    if "terminate called" in proc.stderr:
        problems.append("a rank printed 'terminate called'")
    codes = re.findall(r"exitcode\s*:\s*(-?\d+)", proc.stderr)
    if codes:
        problems.append(f"rank exit codes {codes}")
    if not (run / "checkpoints" / "step-00000003.pt").is_file():
        problems.append("no checkpoint of step 3")
    if problems:
        return False, "; ".join(problems) + "\n" + proc.stderr[-1500:]
    return True, ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2,
                        help="spinning processes beside the runs (default: one per core)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    args = parser.parse_args(argv)

    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.busy)]
    passed = failed = 0
    t0 = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="sharpvid-ddp-") as tmp:
            for i in range(args.runs):
                ok, why = one_run(Path(tmp) / f"run{i}", args.timeout)
                passed, failed = passed + ok, failed + (not ok)
                print(f"run {i + 1}/{args.runs}: {'ok' if ok else 'FAILED: ' + why}", flush=True)
    finally:
        for p in spinners:
            p.kill()
    print(f"{args.runs} two-rank runs with {args.busy} busy process(es) beside them in "
          f"{time.monotonic() - t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
