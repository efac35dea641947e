"""sharpvid.fast.figures: 8-bit conversion, labelled grids, GIF frames, and atomic PNG/GIF files."""

import numpy as np
import pytest
import torch
from PIL import Image

from sharpvid.fast import figures
from sharpvid.fast.figures import (BORDER, SEP, comparison_grid, gif_frames, save_gif, save_png,
                                   scale_grid)
from sharpvid.fast.figures import to_uint8
from sharpvid.fast.imageio import ImageError


def header_height() -> int:
    return figures._header_height(figures._font())


def test_to_uint8_rounds_clips_and_repeats_grey():
    x = torch.tensor([[[-1.0, -0.5, 0.0, 0.5, 1.0, 3.0, -3.0, float("nan")]]])
    u8 = to_uint8(x)
    assert u8.dtype == np.uint8 and u8.shape == (1, 8, 3)
    expected = [0, round(0.25 * 255), 128, round(0.75 * 255), 255, 255, 0, 128]
    assert u8[0, :, 0].tolist() == expected
    assert (u8[..., 0] == u8[..., 1]).all() and (u8[..., 0] == u8[..., 2]).all()


def test_to_uint8_inverts_the_8bit_to_model_mapping():
    values = np.arange(256, dtype=np.uint8)
    x = torch.from_numpy(values).float().mul(2 / 255).sub(1).reshape(1, 16, 16)  # clips.to_model
    assert to_uint8(x)[..., 0].ravel().tolist() == values.tolist()
    rgb = np.stack([x.numpy()[0], -x.numpy()[0], np.zeros((16, 16))])
    out = to_uint8(rgb)
    assert out.shape == (16, 16, 3) and out[0, 1].tolist() == [1, 254, 128]


@pytest.mark.parametrize("shape", [(16, 16), (2, 16, 16), (1, 3, 16, 16)])
def test_to_uint8_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match="C = 1 or 3"):
        to_uint8(np.zeros(shape))


def test_comparison_grid_layout_pixels_and_separators():
    b, h, w = 5, 24, 80  # wide enough that no label widens its column
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (b, 3, h, w))
    grey = rng.uniform(-1, 1, (b, 1, h, w))
    grid = comparison_grid({"input_4": a, "generated": torch.from_numpy(grey)}, max_rows=3)
    top = header_height() + SEP
    assert grid.dtype == np.uint8
    assert grid.shape == (top + 3 * h + 2 * SEP, 2 * w + SEP, 3)
    # row 2, column 1 is sample 2 of "generated", grey repeated to RGB
    r2 = top + 2 * (h + SEP)
    assert np.array_equal(grid[r2 : r2 + h, w + SEP :], np.repeat(
        np.round((np.moveaxis(grey[2], 0, -1) + 1) / 2 * 255).astype(np.uint8), 3, axis=-1))
    assert np.array_equal(grid[top : top + h, :w], to_uint8(a[0]))
    assert (grid[top:, w : w + SEP] == 255).all()  # the column separator
    assert (grid[top + h : top + h + SEP] == 255).all()  # the row separator
    header = grid[: header_height()]
    assert (header < 128).any() and (header == 255).any()  # text drawn on white


def test_comparison_grid_widens_columns_for_labels_and_centres_images():
    x = np.zeros((2, 3, 8, 8))  # mid-grey 8x8 images, narrower than the label
    grid = comparison_grid({"ground truth": x})
    assert grid.shape[1] > 8
    left = (grid.shape[1] - 8) // 2
    top = header_height() + SEP
    assert (grid[top : top + 8, left : left + 8] == 128).all()
    assert (grid[top : top + 8, :left] == 255).all()


def test_comparison_grid_rejects_mixed_sizes_and_empty():
    with pytest.raises(ValueError, match="one size"):
        comparison_grid({"a": np.zeros((1, 3, 8, 8)), "b": np.zeros((1, 3, 8, 9))})
    with pytest.raises(ValueError, match="at least one"):
        comparison_grid({})
    with pytest.raises(ValueError, match="max_rows"):
        comparison_grid({"a": np.zeros((1, 3, 8, 8))}, max_rows=0)


def test_scale_grid_columns_coarse_to_fine_upscaled_nearest():
    b, sizes = 6, (6, 12, 24, 48)  # coarse to fine, 48 wide: no label widens a column
    rng = np.random.default_rng(1)
    preds = [torch.from_numpy(rng.uniform(-1, 1, (b, 3, s, s))) for s in sizes]
    targets = [rng.uniform(-1, 1, (b, 3, s, s)) for s in sizes]
    x_last = rng.uniform(-1, 1, (b, 3, 48, 48))
    grid = scale_grid(x_last, preds, targets)  # max_rows = 4
    top, cell = header_height() + SEP, 48 + SEP
    assert grid.shape == (top + 4 * 48 + 3 * SEP, 9 * 48 + 8 * SEP, 3)
    # column 1 is gen_0 (the coarsest, 6x6) of sample 0: pixel (17, 33) comes from (2, 4)
    assert grid[top + 17, cell + 33].tolist() == to_uint8(preds[0][0])[2, 4].tolist()
    # each 8x8 block of the upscaled coarsest scale is one colour
    block = grid[top + 8 : top + 16, cell + 16 : cell + 24]
    assert (block == block[0, 0]).all()
    # column 4 is gt_1 (12x12) of sample 3: pixel (47, 5) comes from (11, 1)
    r3 = top + 3 * (48 + SEP)
    assert grid[r3 + 47, 4 * cell + 5].tolist() == to_uint8(targets[1][3])[11, 1].tolist()
    # the last two columns are the full-resolution prediction and ground truth, unchanged
    assert np.array_equal(grid[top : top + 48, 7 * cell : 7 * cell + 48], to_uint8(preds[3][0]))
    assert np.array_equal(grid[top : top + 48, 8 * cell :], to_uint8(targets[3][0]))
    assert np.array_equal(grid[top : top + 48, :48], to_uint8(x_last[0]))
    assert (grid[top:, 48 : 48 + SEP] == 255).all()


def test_scale_grid_odd_pyramid_sizes_and_few_samples():
    sizes = [(4, 5), (9, 11)]  # a floor pyramid of 9x11
    preds = [np.zeros((2, 1, *s)) for s in sizes]
    grid = scale_grid(np.zeros((2, 1, 9, 11)), preds, preds, max_rows=4)
    assert grid.shape[0] == header_height() + 2 * (9 + SEP)


def test_scale_grid_rejects_mismatched_lists():
    y = [np.zeros((1, 3, 8, 8))]
    with pytest.raises(ValueError, match="same length"):
        scale_grid(np.zeros((1, 3, 8, 8)), y, y + y)
    with pytest.raises(ValueError, match="differ in size"):
        scale_grid(np.zeros((1, 3, 8, 8)), y, [np.zeros((1, 3, 4, 4))])


def test_gif_frames_marks_predictions_with_a_red_border():
    inputs = torch.full((4, 1, 12, 10), 0.0)
    predictions = torch.full((3, 3, 12, 10), -1.0)
    frames = gif_frames(inputs, predictions)
    assert len(frames) == 7 and all(f.shape == (12, 10, 3) and f.dtype == np.uint8 for f in frames)
    assert (frames[0] == 128).all()  # inputs untouched
    red = np.zeros((12, 10), bool)
    red[:BORDER], red[-BORDER:], red[:, :BORDER], red[:, -BORDER:] = True, True, True, True
    for f in frames[4:]:
        assert (f[red] == [255, 0, 0]).all() and (f[~red] == 0).all()
    plain = gif_frames(inputs, predictions, mark=False)
    assert (plain[5] == 0).all()


def test_gif_frames_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="differ in size"):
        gif_frames(np.zeros((2, 3, 8, 8)), np.zeros((1, 3, 8, 9)))


def test_save_png_round_trip_grey_and_colour(tmp_path):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    save_png(tmp_path / "sub" / "rgb.png", rgb)
    save_png(tmp_path / "grey.png", grey[..., None])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sub" / "rgb.png")), rgb)
    with Image.open(tmp_path / "grey.png") as img:
        assert img.mode == "L" and np.array_equal(np.asarray(img), grey)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["grey.png", "rgb.png", "sub"]


def read_gif(path):
    with Image.open(path) as img:
        frames = []
        for i in range(img.n_frames):
            img.seek(i)
            frames.append((np.asarray(img.convert("RGB")), img.info.get("duration")))
        return frames, img.info.get("loop")


def test_save_gif_keeps_every_frame_even_identical_ones(tmp_path):
    rng = np.random.default_rng(3)
    still = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    frames = gif_frames(np.zeros((3, 3, 10, 12)), np.ones((2, 3, 10, 12)))  # 3 identical inputs
    frames += [np.repeat(np.repeat(still, 3, 0), 2, 1)[:10, :12]] * 2  # two identical, detailed
    save_gif(tmp_path / "a.gif", frames, duration_ms=120)
    back, loop = read_gif(tmp_path / "a.gif")
    assert len(back) == len(frames) == 7 and loop == 0
    for (image, duration), frame in zip(back, frames):
        assert image.shape == (10, 12, 3) and duration == 120
        assert np.array_equal(image, frame)  # <= 256 colours per frame: exact
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


def test_save_gif_many_colours_is_close(tmp_path):
    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
    save_gif(tmp_path / "noise.gif", frames, loop=None)
    back, loop = read_gif(tmp_path / "noise.gif")
    assert len(back) == 3 and loop is None
    assert all(np.abs(b.astype(int) - f).mean() < 40 for (b, _), f in zip(back, frames))


def test_save_errors_name_the_file_and_leave_no_temp(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for save, arg in ((save_png, np.zeros((4, 4, 3), np.uint8)),
                      (save_gif, [np.zeros((4, 4, 3), np.uint8)])):
        with pytest.raises(ImageError, match=r"file/out\.\w+: cannot write"):
            save(blocker / ("out.png" if save is save_png else "out.gif"), arg)
    with pytest.raises(ImageError, match="expected uint8"):
        save_png(tmp_path / "x.png", np.zeros((4, 4, 3)))
    with pytest.raises(ImageError, match="differ in size"):
        save_gif(tmp_path / "x.gif", [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)])
    with pytest.raises(ValueError, match="duration_ms"):
        save_gif(tmp_path / "x.gif", [np.zeros((4, 4, 3), np.uint8)], duration_ms=5)
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_atomic_write_removes_the_temp_file_on_failure(tmp_path, monkeypatch):
    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError, match="out.png: cannot write \\(No space left on device\\)"):
        save_png(tmp_path / "out.png", np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# line_chart
# ---------------------------------------------------------------------------------------------


def colour_pixels(img, colour) -> int:
    return int((img == np.array(colour, np.uint8)).all(-1).sum())


def test_line_chart_shape_dtype_and_white_background():
    steps = np.arange(1, 51)
    img = figures.line_chart({"loss": (steps, 1.0 / steps)}, title="t", xlabel="step",
                             ylabel="loss", width=500, height=300)
    assert img.dtype == np.uint8 and img.shape == (300, 500, 3)
    assert tuple(img[0, 0]) == (255, 255, 255) and tuple(img[-1, -1]) == (255, 255, 255)
    assert (img < 64).all(-1).sum() > 500  # axes frame, tick labels and text in black
    # torch tensors and lists are accepted too
    img2 = figures.line_chart({"loss": (torch.arange(5), [0.5, 0.4, 0.3, 0.2, 0.1])})
    assert img2.shape == (400, 640, 3)


def test_line_chart_draws_each_series_in_its_own_colour():
    x = np.linspace(0, 10, 200)
    series = {f"s{i}": (x, np.sin(x + i) + 3 * i) for i in range(12)}  # more than the palette
    img = figures.line_chart(series, log_y=False)
    colours = figures._series_colours(12)
    assert len(set(colours)) == 12 and colours[:10] == list(figures.PALETTE)
    for colour in colours:  # every curve (and its legend swatch) is drawn
        assert colour_pixels(img, colour) > 100, colour
    # one series: only the first colour appears
    one = figures.line_chart({"a": (x, x ** 2)})
    assert colour_pixels(one, figures.PALETTE[0]) > 100
    assert colour_pixels(one, figures.PALETTE[1]) == 0


def test_line_chart_skips_nan_and_nonpositive_on_log_axis():
    x = np.arange(100.0)
    y = 1.0 + x
    y_nan = y.copy()
    y_nan[40:60] = np.nan
    whole = figures.line_chart({"a": (x, y)}, log_y=True)
    gappy = figures.line_chart({"a": (x, y_nan)}, log_y=True)
    # same axes (the finite points span the same range), fewer curve pixels where the gap is
    assert colour_pixels(gappy, figures.PALETTE[0]) < colour_pixels(whole, figures.PALETTE[0])
    assert np.array_equal(whole[:, :200], gappy[:, :200])  # left of the gap (x < 39): identical
    y_neg = y.copy()
    y_neg[:10] = -1.0  # cannot be drawn on a log axis: skipped
    img = figures.line_chart({"a": (x, y_neg)}, log_y=True)
    assert colour_pixels(img, figures.PALETTE[0]) > 100
    single = figures.line_chart({"a": ([0.0, 1.0, 2.0], [np.nan, 2.0, np.inf])})
    assert colour_pixels(single, figures.PALETTE[0]) > 0  # a lone point becomes a dot


def test_line_chart_constant_and_one_point_series():
    img = figures.line_chart({"flat": ([3.0], [7.0])})
    assert img.shape == (400, 640, 3) and colour_pixels(img, figures.PALETTE[0]) > 0
    img = figures.line_chart({"flat": (np.arange(10), np.full(10, 0.25))}, log_y=True)
    assert colour_pixels(img, figures.PALETTE[0]) > 100


@pytest.mark.parametrize("series, kwargs, message", [
    ({}, {}, "at least one label"),
    ([(np.arange(3), np.arange(3))], {}, "at least one label"),
    ({"a": np.arange(3)}, {}, r"series\['a'\] must be a pair"),
    ({"a": (np.arange(3), np.arange(4))}, {}, "one non-zero length"),
    ({"a": ([], [])}, {}, "one non-zero length"),
    ({"a": (np.zeros((2, 2)), np.zeros((2, 2)))}, {}, "1-D"),
    ({"a": ([1.0, 2.0], [np.nan, np.inf])}, {}, "no finite point"),
    ({"a": ([1.0, 2.0], [0.0, -1.0])}, {"log_y": True}, "log_y needs y > 0"),
    ({"a": ([1.0, 2.0], [1.0, 2.0])}, {"width": 100}, "width and height"),
    ({"a": ([1.0, 2.0], [1.0, 2.0])}, {"height": 50.5}, "width and height"),
])
def test_line_chart_rejects_bad_input(series, kwargs, message):
    with pytest.raises(ValueError, match=message):
        figures.line_chart(series, **kwargs)
