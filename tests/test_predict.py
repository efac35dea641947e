"""``sharpvid predict`` and :func:`sharpvid.fast.commands.predict.predict_video`: the files it
writes, the window it reads, the recursion, and one-line errors for every bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from sharpvid.fast import cli
from sharpvid.fast.commands.predict import GIF_NAME, predict_video, window_start
from sharpvid.fast.figures import to_uint8
from sharpvid.fast.video.clips import to_model
from runs import make_run
from videodata import moving_square, needs_av, write_frames, write_video

T, H, W, M = 6, 40, 48, 4  # 6 frames of 48x40; the tiny config's m = 4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(run_dir, generator)``: a tiny untrained RGB generator in the real checkpoint format."""
    run_dir, g, cfg = make_run(tmp_path_factory.mktemp("run") / "run")
    assert cfg.m == M
    return run_dir, g


@pytest.fixture(scope="module")
def video():
    return moving_square(T, H, W)


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory, video):
    return write_frames(tmp_path_factory.mktemp("frames") / "clip", video)


def expected_png(g, frames_u8, n):
    """What pred_1 .. pred_n should hold: the generator on these m frames, through to_uint8."""
    x = to_model(torch.from_numpy(np.ascontiguousarray(frames_u8.transpose(0, 3, 1, 2)))[None])
    with torch.inference_mode():
        y = g.predict(x, n, pad=True)[0]
    return [to_uint8(f) for f in y]


def read_png(path):
    with Image.open(path) as img:
        return np.asarray(img)


def gif_info(path):
    with Image.open(path) as img:
        return img.n_frames, img.size


def predict(capsys, *args):
    status = cli.main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------------------------
# What it writes
# ---------------------------------------------------------------------------------------------


def test_frame_folder_gives_n_pngs_and_a_gif(run, frames_dir, video, tmp_path, capsys):
    run_dir, g = run
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, run_dir, frames_dir, "--frames", 3, "--out", out,
                                     "--device", "cpu")
    assert status == 0, stderr
    names = [f"pred_{k}.png" for k in (1, 2, 3)] + [GIF_NAME]
    assert stdout.splitlines() == [str(out / name) for name in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left
    assert "input frames 2..5 of 6" in stderr  # the last m frames by default
    for k, want in enumerate(expected_png(g, video[T - M :], 3), start=1):
        got = read_png(out / f"pred_{k}.png")
        assert got.shape == (H, W, 3) and np.array_equal(got, want)
    assert gif_info(out / GIF_NAME) == (M + 3, (W, H))
    with Image.open(out / GIF_NAME) as img:
        img.seek(M)  # the first prediction: red-bordered
        assert img.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
        assert img.info["duration"] == 250


@needs_av
def test_video_file_input(run, video, tmp_path, capsys):
    run_dir, g = run
    path = write_video(tmp_path / "clip.mkv", video, codec="ffv1")  # lossless: exact frames
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, path, "--out", out, "--frames", 2,
                                "--gif-duration", 100, "--device", "cpu")
    assert status == 0, stderr
    want = expected_png(g, video[T - M :], 2)
    for k in (1, 2):
        assert np.array_equal(read_png(out / f"pred_{k}.png"), want[k - 1])
    assert gif_info(out / GIF_NAME) == (M + 2, (W, H))
    with Image.open(out / GIF_NAME) as img:
        assert img.info["duration"] == 100


def test_checkpoint_file_and_start_choose_the_window(run, frames_dir, video, tmp_path, capsys):
    run_dir, g = run
    ckpt = next((run_dir / "checkpoints").glob("*.pt"))
    want = expected_png(g, video[1 : 1 + M], 1)[0]
    for start in ("1", "-5"):  # -5 from the end of 6 frames is frame 1
        out = tmp_path / f"out{start}"
        status, _, stderr = predict(capsys, ckpt, frames_dir, "--start", start, "--out", out,
                                    "--device", "cpu")
        assert status == 0, stderr
        assert "input frames 1..4 of 6" in stderr
        assert np.array_equal(read_png(out / "pred_1.png"), want)
    assert not np.array_equal(want, expected_png(g, video[2:], 1)[0])  # the window matters


def test_grey_input_for_a_colour_model_is_repeated(run, video, tmp_path, capsys):
    run_dir, g = run
    grey = video[..., :1]
    folder = write_frames(tmp_path / "grey", grey)
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, folder, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    assert "grey input, repeated to RGB" in stderr
    want = expected_png(g, np.repeat(grey[T - M :], 3, axis=-1), 1)[0]
    assert np.array_equal(read_png(out / "pred_1.png"), want)
    assert gif_info(out / GIF_NAME) == (M + 1, (W, H))


def test_grey_model_writes_grey_pngs(tmp_path, video, capsys):
    run_dir, g, _ = make_run(tmp_path / "grey-run", ["net.channels=1"])
    folder = write_frames(tmp_path / "grey", video[..., :1])
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, folder, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    with Image.open(out / "pred_1.png") as img:
        assert img.mode == "L" and img.size == (W, H)
        want = expected_png(g, video[T - M :, ..., :1], 1)[0][..., 0]
        assert np.array_equal(np.asarray(img), want)


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["predict", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "sharpvid predict runs/" in text and "--gif-duration" in text


# ---------------------------------------------------------------------------------------------
# The library function: the window and the recursion
# ---------------------------------------------------------------------------------------------


def test_predict_video_recursion_feeds_back_the_float_prediction(run, video):
    _, g = run
    y = predict_video(g, video, 2, start=0)  # frames 0..3 -> predictions 4, 5
    assert y.dtype == torch.float32 and y.shape == (2, 3, H, W)
    x = to_model(torch.from_numpy(np.ascontiguousarray(video[:M].transpose(0, 3, 1, 2))))
    with torch.inference_mode():
        first = g.predict(x[None], 1, pad=True)[0, 0]
        window = torch.cat([x[1:], first[None]])  # frames 1..3 and the first prediction, unrounded
        second = g.predict(window[None], 1, pad=True)[0, 0]
    torch.testing.assert_close(y[0], first, rtol=0, atol=0)
    torch.testing.assert_close(y[1], second, rtol=1e-6, atol=1e-6)
    # the last m frames by default; negative start counts from the end
    torch.testing.assert_close(predict_video(g, video, 1), predict_video(g, video, 1, -M))


def test_predict_video_leaves_the_generator_mode_and_grad_state(run, video):
    _, g = run
    g.train()
    try:
        y = predict_video(g, video, 1)
        assert g.training and not y.requires_grad
    finally:
        g.eval()


@pytest.mark.parametrize(
    "frames, n, start, message",
    [
        (np.zeros((3, 8, 8, 3), np.uint8), 1, None, "has 3 frame(s), but the model needs 4"),
        (np.zeros((6, 8, 8, 3), np.uint8), 0, None, "--frames must be an integer >= 1"),
        (np.zeros((6, 8, 8, 3), np.uint8), 1, 3, "must be in 0 .. 2"),
        (np.zeros((6, 8, 8, 2), np.uint8), 1, None, "2-channel frames"),
        (np.zeros((6, 8, 8, 3), np.float32), 1, None, "must be uint8"),
    ],
)
def test_predict_video_bad_arguments(run, frames, n, start, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        predict_video(run[1], frames, n, start)


def test_window_start():
    assert [window_start(6, 4, s) for s in (None, 0, 2, -4, -6)] == [2, 0, 2, 2, 0]
    for bad in (3, -7):
        with pytest.raises(ValueError, match="out of range"):
            window_start(6, 4, bad)


# ---------------------------------------------------------------------------------------------
# Every bad input: exit status 2 and one line on stderr
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def bad_inputs(tmp_path, video):
    """Named paths for the error table."""
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a checkpoint")
    broken = tmp_path / "broken"
    write_frames(broken, video)
    (broken / "frame3.png").write_bytes(b"\x89PNG truncated")
    two = tmp_path / "two"
    write_frames(two / "a", video)
    write_frames(two / "b", video)
    short = write_frames(tmp_path / "short", video[:3])
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    (tmp_path / "empty").mkdir()
    return dict(tmp=tmp_path, corrupt=corrupt, broken=broken, two=two, short=short,
                blocker=blocker, empty=tmp_path / "empty")


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing checkpoint", "no such checkpoint file or run folder"),
        ("corrupt checkpoint", "corrupt.pt: not a readable checkpoint"),
        ("run folder without checkpoints", "no checkpoint in"),
        ("missing input", "nothing: no such file or folder"),
        ("unreadable frame", "frame3.png: cannot read as an image"),
        ("empty folder", "empty: folder is empty"),
        ("two videos", "two: holds 2 videos; predict takes one"),
        ("too few frames", "short: has 3 frame(s), but the model needs 4 input frames"),
        ("start too late", "--start 3 is out of range: with 6 frames and 4 input frames it must "
                           "be in 0 .. 2 (or -6 .. -4 from the end)"),
        ("start too early", "--start -7 is out of range"),
        ("frames 0", "--frames must be an integer >= 1, got 0"),
        ("gif duration", "--gif-duration must be >= 10 ms"),
        ("cuda absent", "this machine has no CUDA device"),
        ("bad device", "device must be auto, cpu, cuda or cuda:K, got 'tpu'"),
        ("out not writable", "file/out: cannot write the output folder"),
        ("colour input for a grey model", "has 3-channel frames, but the model was trained on "
                                          "1-channel frames"),
    ],
)
def test_bad_input_is_one_line_and_status_2(case, message, run, frames_dir, bad_inputs, capsys):
    run_dir, _ = run
    b = bad_inputs
    out = b["tmp"] / "out"
    ckpt, inp, extra = run_dir, frames_dir, ["--device", "cpu"]
    if case == "missing checkpoint":
        ckpt = b["tmp"] / "no-run"
    elif case == "corrupt checkpoint":
        ckpt = b["corrupt"]
    elif case == "run folder without checkpoints":
        ckpt = b["empty"]
    elif case == "missing input":
        inp = b["tmp"] / "nothing"
    elif case == "unreadable frame":
        inp = b["broken"]
    elif case == "empty folder":
        inp = b["empty"]
    elif case == "two videos":
        inp = b["two"]
    elif case == "too few frames":
        inp = b["short"]
    elif case == "start too late":
        extra += ["--start", "3"]
    elif case == "start too early":
        extra += ["--start", "-7"]
    elif case == "frames 0":
        extra += ["--frames", "0"]
    elif case == "gif duration":
        extra += ["--gif-duration", "5"]
    elif case == "cuda absent":
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        extra = ["--device", "cuda"]
    elif case == "bad device":
        extra = ["--device", "tpu"]
    elif case == "out not writable":
        out = b["blocker"] / "out"
    elif case == "colour input for a grey model":
        ckpt = make_run(b["tmp"] / "grey-run", ["net.channels=1"])[0]
    status, stdout, stderr = predict(capsys, ckpt, inp, "--out", out, *extra)
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("sharpvid: error: "), stderr
    assert message in stderr
    assert not out.exists() or not any(out.iterdir())
