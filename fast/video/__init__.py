"""Video data: sources (:mod:`fast.video.sources`), the synthetic world
(:mod:`fast.video.synthetic`), files and frame folders (:mod:`fast.video.files`), UCF101
(:mod:`fast.video.ucf101`), training and test clips (:mod:`fast.video.clips`) and prepared
shards (:mod:`fast.video.shards`)."""

from fast.video.sources import DataError, Source, Video, open_source

__all__ = ["DataError", "Source", "Video", "open_source"]
