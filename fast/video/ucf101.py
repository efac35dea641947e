"""UCF101 (Soomro, Zamir & Shah 2012, arXiv:1212.0402) from a user-given copy, with its splits.

The data set cannot be downloaded here; the user gives

- ``ROOT``: the ``UCF-101`` folder of 101 class folders of ``.avi`` files (320x240, 25 fps), and
- ``splits``: the ``ucfTrainTestlist`` folder with ``trainlist0K.txt`` (``Class/v_..._gXX_cYY.avi
  LABEL``) and ``testlist0K.txt`` (``Class/v_..._gXX_cYY.avi``) for folds K = 1, 2, 3.
  By default it is looked for as ``ROOT/ucfTrainTestlist`` and ``ROOT/../ucfTrainTestlist``.

Every video a split file names must exist (case-insensitively: the official lists write
``HandstandPushups/v_HandStandPushups_...`` while the files say ``HandStandPushups``); a missing
one is an error naming the split file and its line, before any work starts.

The authors' test protocol (``test-frame-prediction-on-ucf-rec_gdl.lua``: ``for videoidx =
1,3783,10``) takes every 10th video of ``testlist01``: 1-based indices 1, 11, ..., 3781, i.e.
0-based 0, 10, ..., 3780, **379** videos (:func:`authors_test_videos`).  The paper reports 378:
the authors' evaluation drops a clip whose masked PSNR is 50 dB or more (a clip with no moving
pixel scores about 88 dB), which most likely removed one.  sharpvid keeps all 379 and reports
the exclusion separately at evaluation time.
"""

from __future__ import annotations

from pathlib import Path

from sharpvid.fast.video.base import DataError, Source

#: Videos in the official testlist01.txt, and the authors' stride over it.
TESTLIST01_SIZE = 3783
AUTHORS_TEST_STRIDE = 10


def find_splits(root: Path) -> Path:
    for candidate in (root / "ucfTrainTestlist", root.parent / "ucfTrainTestlist"):
        if candidate.is_dir():
            return candidate
    raise DataError(
        f"{root}: no ucfTrainTestlist folder beside or inside it; give it with "
        f"ucf101:{root},splits=/path/to/ucfTrainTestlist"
    )


def read_split(split_file: Path) -> list[tuple[int, str]]:
    """``(line number, relative path)`` of each video a split file lists (labels dropped)."""
    if not split_file.is_file():
        raise DataError(f"{split_file}: no such split file (expected trainlist0K.txt / "
                        f"testlist0K.txt, K = 1, 2, 3)")
    try:
        text = split_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise DataError(f"{split_file}: cannot read the split file ({reason})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line:
            entries.append((number, line.split()[0].replace("\\", "/")))
    if not entries:
        raise DataError(f"{split_file}: split file lists no video")
    return entries


def _resolver(root: Path):
    """Relative path -> file, exact first, then case-insensitively (the official lists' quirk)."""
    index: dict[str, Path] | None = None

    def resolve(relative: str) -> Path | None:
        nonlocal index
        exact = root / relative
        if exact.is_file():
            return exact
        if index is None:
            index = {str(p.relative_to(root)).lower(): p for p in root.rglob("*") if p.is_file()}
        return index.get(relative.lower())

    return resolve


def ucf101_source(root: str | Path, splits: str | Path | None = None, split: str = "train",
                  fold: int = 1) -> Source:
    """The videos of UCF101 ``split`` ("train" or "test") of ``fold`` (1, 2 or 3), in list order."""
    from sharpvid.fast.video.files import VideoFile, require_av

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (the UCF-101 folder of class folders of .avi)")
    if split not in ("train", "test"):
        raise DataError(f"ucf101: split={split!r} must be 'train' or 'test'")
    if fold not in (1, 2, 3):
        raise DataError(f"ucf101: fold={fold!r} must be 1, 2 or 3")
    require_av(root)
    split_dir = Path(splits) if splits else find_splits(root)
    split_file = split_dir / f"{split}list0{fold}.txt"
    resolve = _resolver(root)
    paths = []
    for number, relative in read_split(split_file):
        path = resolve(relative)
        if path is None:
            raise DataError(f"{split_file}:{number}: names {relative}, which is not in {root}")
        paths.append((relative, path))
    name = f"ucf101:{split}list0{fold}"
    return Source(name, [VideoFile(path, str(Path(rel).with_suffix(""))) for rel, path in paths])


def authors_test_videos(source: Source) -> Source:
    """The authors' protocol: every 10th video of testlist01 (0-based 0, 10, ..., 3780)."""
    return source.every(AUTHORS_TEST_STRIDE)

