"""``sharpvid deblur``: blind L0 deblurring of image files (Pan et al. 2014 / Xu et al. 2013).

    sharpvid deblur blurry.png --kernel-size 15 --out deblurred/
    sharpvid deblur frames/ --method natural --kernel-size 25 --out deblurred/ --device cuda
    sharpvid deblur scan1.png scan2.png --method text --kernel-size 31 --out sharp/

Images (files or folders of PNG/JPEG, grey or colour) are read, grouped by size into batches,
deblurred by :mod:`sharpvid.fast.deblur` on the chosen device, and written to ``DIR`` as
``<name>.png`` (the latent image) and ``<name>_kernel.png`` (the estimated kernel scaled to its
maximum for viewing).  A file that cannot be read gets a one-line error naming it and the rest
go on; the exit status is then 1.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from sharpvid.fast import imageio
from sharpvid.fast.commands import CommandError, print_error

EXAMPLES = __doc__.split("\n\n")[1]
METHODS = ("text", "natural")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "deblur",
        help="blind L0 deblurring of images (text: Pan et al. 2014; natural: Xu et al. 2013)",
        description="Blind L0 deblurring of image files: the estimated sharp image and kernel of "
                    "each, written to --out as NAME.png and NAME_kernel.png.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders of images")
    p.add_argument("--method", choices=METHODS, default="natural",
                   help="text: L0 intensity+gradient prior (Pan 2014); natural: unnatural L0 "
                        "(Xu 2013, default)")
    p.add_argument("--kernel-size", type=int, required=True, metavar="K",
                   help="odd kernel size in pixels, at least the blur's extent")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="cpu (NumPy) or cuda (CuPy, the gpu extra)")
    p.add_argument("--batch", type=int, default=8, metavar="B",
                   help="images of one size deblurred together (default 8)")
    p.set_defaults(func=run)


def _unique_stem(path: Path, taken: set[str]) -> str:
    stem, n = path.stem, 2
    while stem in taken:
        stem, n = f"{path.stem}-{n}", n + 1
    taken.add(stem)
    return stem


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast import deblur
    from sharpvid.fast._xp import to_numpy, xp_for_device

    if args.kernel_size < 3 or args.kernel_size % 2 == 0:
        raise CommandError(f"--kernel-size must be an odd integer >= 3, got {args.kernel_size}")
    if args.batch < 1:
        raise CommandError(f"--batch must be >= 1, got {args.batch}")
    try:
        xp = xp_for_device(args.device)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    method = deblur.deblur_text_l0 if args.method == "text" else deblur.deblur_natural_l0

    paths, problems = imageio.find_images(args.inputs)
    failures = 0
    for message in problems:
        print_error(message)
        failures += 1
    # read everything first (cheap), grouping by shape so a batch is one array
    groups: dict[tuple, list[tuple[Path, np.ndarray]]] = defaultdict(list)
    progress = imageio.Progress(len(paths), f"deblur ({args.method}, {args.device})")
    for path in paths:
        try:
            image = imageio.read_image(path)
        except imageio.ImageError as exc:
            print_error(str(exc), progress.stream)
            failures += 1
            progress.step(path.name)
            continue
        groups[image.shape].append((path, image))
    taken: set[str] = set()
    written = 0
    for shape, items in groups.items():
        for start in range(0, len(items), args.batch):
            chunk = items[start : start + args.batch]
            batch = xp.asarray(np.stack([image for _, image in chunk]).astype(np.float32))
            try:
                latent, kernels = method(batch, args.kernel_size)
            except ValueError as exc:  # e.g. a kernel larger than these images
                for path, _ in chunk:
                    print_error(f"{path}: {exc}", progress.stream)
                    progress.step(path.name)
                failures += len(chunk)
                continue
            latent, kernels = to_numpy(latent), to_numpy(kernels)
            for (path, _), x, k in zip(chunk, latent, kernels):
                stem = _unique_stem(path, taken)
                imageio.write_image(args.out / f"{stem}.png", x)
                imageio.write_image(args.out / f"{stem}_kernel.png", imageio.kernel_to_image(k))
                progress.step(path.name)
                written += 1
    print(f"deblurred {written} image(s) into {args.out}" + (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0
