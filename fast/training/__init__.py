"""The training layer, one part a module, every import pointing down:

- :mod:`.errors`: ``TrainError``, the one-line error of a run that cannot go on.
- :mod:`.data`: the training and validation clips; a clip's inputs and targets.
- :mod:`.optim`: optimisers, learning-rate schedules, gradient clipping, spectral norm.
- :mod:`.dist`: ``torchrun`` ranks, what rank 0 decides for all, the way out of a group.
- :mod:`.objectives`: G's rollout and the terms of Eq. (6).
- :mod:`.critics`: the adversaries (D, GMAN's several, the blur detector D2), their batches,
  targets and Eq. (3).
- :mod:`.guard`: the non-finite guard (skip, restore, give up).
- :mod:`.runlog`: the run folder and ``metrics.jsonl``.
- :mod:`.step`: one step of Algorithm 1, the D step then the G step, read top to bottom.
- :mod:`.loop`: :class:`Trainer`, the run around the step (build, save, restore, fit).
"""

from sharpvid.fast.training.errors import TrainError
from sharpvid.fast.training.loop import Trainer, resume_config

__all__ = ["TrainError", "Trainer", "resume_config"]
