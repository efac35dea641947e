"""Frames on disk: reading, atomic writing, and the one-line errors."""

import numpy as np
import pytest
from PIL import Image

from sharpvid.fast import imageio


def test_round_trip_grey_and_colour(tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(1, 5, 7), (3, 4, 6)]:
        img = np.round(rng.uniform(0, 1, shape) * 255) / 255
        path = tmp_path / f"img{shape[0]}.png"
        imageio.write_image(path, img)
        back = imageio.read_image(path)
        assert back.shape == shape and back.dtype == np.float32
        np.testing.assert_allclose(back, img, atol=1e-6)


def test_reads_other_modes(tmp_path):
    Image.fromarray(np.full((3, 4), 1000, np.uint16)).save(tmp_path / "g16.png")
    assert imageio.read_image(tmp_path / "g16.png") == pytest.approx(1000 / 65535, rel=1e-6)
    Image.new("RGBA", (4, 3), (255, 0, 0, 128)).save(tmp_path / "rgba.png")
    assert imageio.read_image(tmp_path / "rgba.png").shape == (3, 3, 4)
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "c.jpg")
    assert imageio.read_image(tmp_path / "c.jpg")[1].mean() > 0.9


def test_unreadable_file_names_it(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(imageio.ImageError, match="broken.png: cannot read as an image"):
        imageio.read_image(bad)
    with pytest.raises(imageio.ImageError, match="missing.png: no such file"):
        imageio.read_image(tmp_path / "missing.png")


def test_find_images_reports_problems(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    images, problems = imageio.find_images([tmp_path, tmp_path / "empty", tmp_path / "nope"])
    assert [p.name for p in images] == ["a.png"]
    assert len(problems) == 2 and "no image files" in problems[0] and "no such" in problems[1]


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    imageio.write_image(path, np.zeros((1, 2, 2)))
    before = path.read_bytes()

    def interrupted(self, fp, format=None, **kw):
        with open(fp, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        imageio.write_image(path, np.ones((1, 2, 2)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_kernel_to_image_and_model_range():
    k = np.array([[0.0, 0.25], [0.5, 0.25]])
    assert imageio.kernel_to_image(k).max() == 1.0
    x = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(imageio.to_model(x), [-1, 0, 1])
    np.testing.assert_allclose(imageio.from_model(imageio.to_model(x)), x)
