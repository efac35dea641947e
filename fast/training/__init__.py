"""The training layer, moving here piece by piece from :mod:`fast.train`: :mod:`.optim`."""
