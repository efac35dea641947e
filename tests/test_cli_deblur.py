"""``sharpvid deblur`` on image files: outputs, kernels, and errors that name the file."""

import subprocess
import sys

import numpy as np
import pytest

from deblur_synthetic import blur, motion_kernel, shapes_image
from sharpvid.fast import cli, imageio


@pytest.fixture()
def blurred_images(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    k = motion_kernel(7, rng)
    grey = np.clip(blur(shapes_image(40, rng), k, 0.005, rng), 0, 1)
    colour = np.stack([np.clip(blur(shapes_image(40, rng), k, 0.005, rng), 0, 1) for _ in range(3)])
    imageio.write_image(folder / "grey.png", grey[None])
    imageio.write_image(folder / "colour.png", colour)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


def test_deblur_writes_images_and_kernels_and_names_bad_files(blurred_images, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(["deblur", str(blurred_images), "--kernel-size", "7", "--out", str(out),
                       "--method", "natural"])
    captured = capsys.readouterr()
    assert status == 1  # the broken file
    assert "broken.png: cannot read as an image" in captured.err
    assert "deblurred 2 image(s)" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [
        "colour.png", "colour_kernel.png", "grey.png", "grey_kernel.png"]
    assert imageio.read_image(out / "colour.png").shape == (3, 40, 40)
    kernel = imageio.read_image(out / "grey_kernel.png")
    assert kernel.shape == (1, 7, 7) and kernel.max() == 1.0


def test_deblur_text_method_on_a_single_file(blurred_images, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["deblur", str(blurred_images / "grey.png"), "--kernel-size", "5",
                     "--out", str(out), "--method", "text"]) == 0
    assert (out / "grey.png").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--kernel-size", "6"], "--kernel-size must be an odd integer >= 3, got 6"),
        (["--kernel-size", "7", "--device", "cuda"], "needs CuPy and a CUDA GPU"),
    ],
)
def test_bad_values_are_one_line_errors(blurred_images, tmp_path, extra, message):
    from sharpvid.fast._xp import cupy_available

    if "cuda" in extra and cupy_available():
        pytest.skip("CUDA is available here")
    proc = subprocess.run(
        [sys.executable, "-m", "sharpvid.fast.cli", "deblur", str(blurred_images / "grey.png"),
         "--out", str(tmp_path / "o"), *extra], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sharpvid: error: ") and message in lines[0]


def test_kernel_larger_than_the_image_names_the_file(blurred_images, tmp_path, capsys):
    status = cli.main(["deblur", str(blurred_images / "grey.png"), "--kernel-size", "41",
                       "--out", str(tmp_path / "o")])
    assert status == 1
    assert "grey.png" in capsys.readouterr().err
