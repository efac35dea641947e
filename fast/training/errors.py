"""The training layer's one error type (a leaf: every part of :mod:`sharpvid.fast.training` raises
it)."""


class TrainError(Exception):
    """A run that cannot start or continue as asked (the message is one line)."""
