"""Prepared clips: decode once, then train and evaluate at memory speed.

:func:`prepare` writes a folder that :class:`ShardClips` reads::

    DIR/prepare.json        the configuration, and the work units already written
    DIR/clips-00000.npy     uint8 (N, T, C, H, W) clips of one unit (memory-mapped on read)
    DIR/clips-00000.json    one record per clip: source, video, frame, crop, motion score

The work is cut into *units* fixed by the configuration alone (a unit is a run of videos and the
clip numbers each gives), and clip ``j`` of video ``v`` is drawn from
``np.random.default_rng([seed, v, j])`` alone, so what a unit holds does not depend on the order
units run in, on ``--workers``, or on earlier interruptions.  Each unit's files are written
atomically (temporary name, then rename) and only then listed in ``prepare.json`` (also replaced
atomically): a killed run resumes at the first unit not listed, with no clip lost or duplicated,
and its result is byte-identical to an uninterrupted run's.

Training split: ``clips`` patch clips spread evenly over the videos (video ``v`` gives
``clips // V`` or one more), motion-filtered (:mod:`sharpvid.fast.video.clips`).  Test split: one
full-frame clip per video at a fixed offset (:func:`sharpvid.fast.video.clips.fixed_clip_start`:
centred in the video's longest shot), one unit per video, so every later evaluation reads the same
frames.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sharpvid.fast.imageio import Progress, atomic_write
from sharpvid.fast.video.clips import (ClipConfig, check_motion, check_videos, read_window,
                                       sample_clip, shots, test_clip)
from sharpvid.fast.video.sources import DataError, Source

FORMAT = "sharpvid-clips/1"
INDEX = "prepare.json"
#: a video larger than this (bytes of uint8 frames) is sampled through windows, not decoded whole
WHOLE_VIDEO_BYTES = 1 << 30


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that decides what ``sharpvid prepare`` writes (``--workers`` does not)."""

    sources: tuple[str, ...]          # the source specs, in order
    split: str = "train"              # "train": patch clips; "test": one full-frame clip a video
    clips: int = 10_000               # train: clips in all
    clip: ClipConfig = field(default_factory=ClipConfig)
    seed: int = 0
    every: int = 1                    # every k-th video (test: the authors' 10 for UCF101)
    frame_range: tuple | None = None  # (lo, hi) frames or fractions of each video, or None
    shard_clips: int = 4096           # train: clips per unit (file)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["sources"], d["clip"] = list(self.sources), self.clip.to_dict()
        d["frame_range"] = list(self.frame_range) if self.frame_range else None
        return d


# ------------------------------------------------------------------ the plan
def plan_units(cfg: PrepareConfig, num_frames: list[int]) -> list[list[tuple[int, int, int]]]:
    """Units of work: lists of ``(video, first clip, count)``, fixed by the configuration."""
    if cfg.split == "test":
        return [[(v, 0, 1)] for v in range(len(num_frames))]
    n_videos = len(num_frames)
    units, current, size = [], [], 0
    for v in range(n_videos):
        count = cfg.clips // n_videos + (v < cfg.clips % n_videos)
        j = 0
        while j < count:
            take = min(count - j, cfg.shard_clips - size)
            current.append((v, j, take))
            size, j = size + take, j + take
            if size == cfg.shard_clips:
                units.append(current)
                current, size = [], 0
    if current:
        units.append(current)
    return units


def _video_clips(video, v: int, j0: int, count: int, cfg: PrepareConfig):
    """``count`` clips of one video (clip numbers ``j0 ...``), with their records."""
    clip_cfg = cfg.clip
    video_bytes = video.num_frames * video.height * video.width * video.channels
    if cfg.split == "test":
        start, clip = test_clip(video, clip_cfg)
        return [clip], [dict(video=video.name, source=video.source, frame=start, row=0, col=0,
                             height=video.height, width=video.width)]
    whole = video_bytes <= WHOLE_VIDEO_BYTES
    if whole:
        frames = video.read()
        ranges = shots(frames, clip_cfg)
    clips, records = [], []
    for j in range(j0, j0 + count):
        rng = np.random.default_rng([cfg.seed, v, j])
        offset = 0
        if not whole:  # a long video: a window of frames around a random start
            (offset, frames), ranges = read_window(video, clip_cfg, rng), None
        s = sample_clip(frames, rng, clip_cfg, ranges)
        clips.append(s.clip)
        records.append(dict(video=video.name, source=video.source, frame=s.frame + offset,
                            row=s.row, col=s.col, motion=round(s.motion, 4), moved=bool(s.moved)))
    return clips, records


def _run_unit(source: Source, cfg: PrepareConfig, out: Path, u: int, unit) -> dict:
    """Write unit ``u`` (its clips and records) atomically; return its entry for the index."""
    clips, records, problems = [], [], []
    for v, j0, count in unit:
        video = source[v]
        try:
            c, r = _video_clips(video, v, j0, count, cfg)
        except DataError as exc:  # e.g. no shot long enough: found only once decoded
            problems.append(f"{video.source}: {exc}; its {count} clip(s) are left out")
            continue
        clips += c
        records += r
        problems += video.problems
    stem = f"clips-{u:05d}"
    # every video of the unit left out: an empty file still keeps the plan intact
    array = np.stack(clips) if clips else np.empty((0, cfg.clip.length, 0, 0, 0), np.uint8)
    atomic_write(out / f"{stem}.npy", lambda tmp: _save_npy(tmp, array))
    atomic_write(out / f"{stem}.json", lambda tmp: Path(tmp).write_text(json.dumps(records)))
    return {"file": f"{stem}.npy", "clips": len(clips),
            "shape": list(array.shape[1:]) if clips else None, "problems": problems}


def _save_npy(tmp, array):
    with open(tmp, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())


# worker processes get the source once (pickled to the initializer), then run units by number
_WORKER: dict = {}


def _init_worker(source, cfg, out, units):
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER.update(source=source, cfg=cfg, out=out, units=units)


def _worker_unit(u: int):
    w = _WORKER
    return u, _run_unit(w["source"], w["cfg"], w["out"], u, w["units"][u])


# ------------------------------------------------------------------ prepare
def open_prepared_source(cfg: PrepareConfig) -> Source:
    """The configuration's sources, as one source: every k-th video, cut to the frame range."""
    from sharpvid.fast.video.sources import open_source

    videos = []
    for spec in cfg.sources:
        source = open_source(spec)
        if cfg.frame_range:
            source = source.frame_range(*cfg.frame_range)
        videos += source.every(cfg.every).videos
    return Source(",".join(cfg.sources), videos)


def _read_index(out: Path) -> dict | None:
    path = out / INDEX
    if not path.exists():
        return None
    try:
        index = json.loads(path.read_text())
        ok = (isinstance(index, dict) and index.get("format") == FORMAT
              and isinstance(index.get("config"), dict) and isinstance(index.get("units"), int)
              and isinstance(index.get("done"), dict)
              and all(isinstance(e, dict) and {"file", "clips", "shape", "problems"} <= set(e)
                      for e in index["done"].values()))
    except (ValueError, OSError):
        ok = False
    if not ok:
        raise DataError(f"{path}: not a sharpvid prepare index (damaged?); use another --out")
    return index


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def _check_same_config(out: Path, index: dict, wanted: dict) -> None:
    if index["config"] == wanted:
        return
    old, new = _flat(index["config"]), _flat(wanted)
    diffs = [f"{k} {old.get(k)!r} there, {new.get(k)!r} now" for k in sorted(set(old) | set(new))
             if old.get(k) != new.get(k)]
    raise DataError(f"{out} holds clips prepared with another configuration ({'; '.join(diffs)}); "
                    f"use another --out, or delete it")


def check_source(source: Source, cfg: PrepareConfig) -> None:
    """Before any work: every video gives a clip, and (train) some crop moves enough."""
    check_videos(source, cfg.clip, full_frame=cfg.split == "test")
    if cfg.split == "train":
        check_motion(source, cfg.clip, cfg.seed)


def prepare(cfg: PrepareConfig, out: str | Path, *, workers: int = 1, progress=True) -> dict:
    """Write (or finish writing) the prepared clips of ``cfg`` into ``out``; return the index."""
    out = Path(out)
    wanted = cfg.to_dict()
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    index = _read_index(out) if out.is_dir() else None
    if index is not None:
        _check_same_config(out, index, wanted)
    elif out.is_dir() and any(p.name.startswith("clips-") for p in out.iterdir()):
        raise DataError(f"{out} holds clip files but no {INDEX}; use another --out, or delete it")
    if cfg.split not in ("train", "test"):
        raise DataError(f"split={cfg.split!r} must be 'train' or 'test'")
    if cfg.split == "train" and cfg.clips < 1:
        raise DataError(f"--clips must be >= 1, got {cfg.clips}")
    source = open_prepared_source(cfg)
    check_source(source, cfg)
    units = plan_units(cfg, [v.num_frames for v in source])
    videos = [[v.source, v.num_frames] for v in source]
    if index is None:
        index = {"format": FORMAT, "config": wanted, "videos": videos, "units": len(units),
                 "done": {}}
    elif index.get("videos") != videos or index["units"] != len(units):
        changed = next((f"{a[0]} ({a[1]} frames) there, {b[0]} ({b[1]} frames) now"
                        for a, b in zip(index.get("videos") or [], videos) if a != b),
                       f"{len(index.get('videos') or [])} videos there, {len(videos)} now")
        raise DataError(f"{out}: the source has changed since these clips were prepared "
                        f"({changed}); use another --out, or delete it")
    done = index["done"]
    for u in [u for u, e in done.items() if not _unit_intact(out, e)]:
        del done[u]  # listed but missing or damaged: written again
    todo = [u for u in range(len(units)) if str(u) not in done]
    total = sum(c for unit in units for _, _, c in unit)
    counter = Progress(total, f"prepare {cfg.split}", unit="clips", every=0.5,
                       done=sum(e["clips"] for e in done.values())) if progress else None
    out.mkdir(parents=True, exist_ok=True)

    warned: set[str] = {p for e in done.values() for p in e["problems"]}

    def record(u, entry):
        done[str(u)] = entry
        _write_index(out, index)
        if counter:
            counter.step(f"unit {u + 1}/{len(units)}", n=entry["clips"])
        for problem in entry["problems"]:
            if problem not in warned:  # a video split over several units warns once
                warned.add(problem)
                print(f"sharpvid: warning: {problem}", file=counter.stream if counter else None)

    _write_index(out, index)
    if workers <= 1 or len(todo) <= 1:
        # (workers: forkserver, not fork: a child forked from a parent that has used torch's
        # OpenMP threads hangs at its first parallel region; the server has never used them)
        for u in todo:
            record(u, _run_unit(source, cfg, out, u, units[u]))
    else:
        import multiprocessing

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_init_worker, initargs=(source, cfg, out, units))
        try:
            for future in as_completed([pool.submit(_worker_unit, u) for u in todo]):
                record(*future.result())
        finally:  # Ctrl-C or an error: units not started are dropped, running ones finish
            pool.shutdown(wait=True, cancel_futures=True)
    return index


def _write_index(out: Path, index: dict) -> None:
    """Replace the index atomically; units in number order, so the file does not depend on the
    order parallel workers finish in."""
    done = index["done"]
    ordered = [(u, done.pop(u)) for u in sorted(done, key=int)]
    done.update(ordered)  # in place: callers hold this dict
    atomic_write(out / INDEX, lambda tmp: Path(tmp).write_text(json.dumps(index, indent=1)))


def _unit_intact(out: Path, entry: dict) -> bool:
    """A listed unit's files exist, and the clip file holds the listed number of clips."""
    npy, records = out / entry["file"], (out / entry["file"]).with_suffix(".json")
    try:
        return records.is_file() and np.load(npy, mmap_mode="r").shape[0] == entry["clips"]
    except (OSError, ValueError):
        return False


# ------------------------------------------------------------------ reading
class ShardClips:
    """The clips of a prepared folder, memory-mapped, for
    :class:`sharpvid.fast.video.clips.ClipLoader`.

    Training order: epoch ``e`` of rank ``r`` visits every clip once in the order of
    ``np.random.default_rng([seed, r, e]).permutation(N)``; batch ``k`` is positions
    ``k*B ... k*B + B - 1`` of that endless sequence (a batch may straddle two epochs).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = _read_index(self.folder) if self.folder.is_dir() else None
        if index is None:
            raise DataError(f"{self.folder}: no prepared clips ({INDEX} missing); run "
                            f"sharpvid prepare SOURCE --out {self.folder}")
        self.config = index["config"]
        done = index["done"]
        if len(done) < index["units"]:
            raise DataError(f"{self.folder}: preparation is unfinished ({len(done)} of "
                            f"{index['units']} units); run the same sharpvid prepare again to finish")
        entries = [done[str(u)] for u in range(index["units"]) if done[str(u)]["clips"] > 0]
        if not entries:
            raise DataError(f"{self.folder}: holds no clips (every video was left out; see the "
                            f"warnings of sharpvid prepare)")
        shapes = {tuple(e["shape"]) for e in entries}
        self.shape = shapes.pop() if len(shapes) == 1 else None  # None: mixed full-frame sizes
        self.arrays = []
        for e in entries:
            path = self.folder / e["file"]
            try:
                self.arrays.append(np.load(path, mmap_mode="r"))
            except (OSError, ValueError) as exc:
                raise DataError(f"{path}: cannot read prepared clips ({exc})") from None
        counts = np.array([len(a) for a in self.arrays])
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.num_clips = int(self.offsets[-1])
        self._perm: tuple[tuple, np.ndarray] | None = None
        self._records: list | None = None

    def __len__(self) -> int:
        return self.num_clips

    def records(self) -> list[dict]:
        """Every clip's record (source, video, frame, crop, motion), in clip order."""
        if self._records is None:
            self._records = []
            for a in self.arrays:
                name = Path(a.filename).with_suffix(".json")
                self._records += json.loads(name.read_text())
        return self._records

    def take(self, indices) -> np.ndarray:
        """Clips by global index, uint8 ``(len(indices), T, C, H, W)``, in the order given."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.shape is None and len(indices) > 1:
            raise DataError(f"{self.folder}: clips of different frame sizes cannot be batched; "
                            f"take them one at a time")
        shard = np.searchsorted(self.offsets, indices, side="right") - 1
        first = self.arrays[shard[0]] if len(indices) else None
        out = np.empty((len(indices), *(self.shape or first.shape[1:])), np.uint8)
        for s in np.unique(shard):
            where = np.flatnonzero(shard == s)
            rows = indices[where] - self.offsets[s]
            order = np.argsort(rows, kind="stable")  # sorted rows read the mapped file forward
            out[where[order]] = self.arrays[s][rows[order]]
        return out

    def _permutation(self, seed: int, rank: int, epoch: int) -> np.ndarray:
        key = (seed, rank, epoch)
        if self._perm is None or self._perm[0] != key:
            self._perm = (key, np.random.default_rng([seed, rank, epoch]).permutation(self.num_clips))
        return self._perm[1]

    def batch(self, k: int, batch_size: int, seed: int = 0, rank: int = 0) -> np.ndarray:
        """Batch ``k`` of rank ``rank``'s endless shuffled stream (see the class docstring)."""
        positions = np.arange(k * batch_size, (k + 1) * batch_size, dtype=np.int64)
        epochs, within = np.divmod(positions, self.num_clips)
        indices = np.empty_like(positions)
        for e in np.unique(epochs):
            sel = epochs == e
            indices[sel] = self._permutation(seed, rank, int(e))[within[sel]]
        return self.take(indices)

    def __iter__(self):
        """Clips in stored order, one at a time (the evaluation set), uint8 ``(T, C, H, W)``."""
        for a in self.arrays:
            yield from a
