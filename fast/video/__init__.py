"""Video data: sources (:mod:`sharpvid.fast.video.sources`), the synthetic world
(:mod:`sharpvid.fast.video.synthetic`), files and frame folders (:mod:`sharpvid.fast.video.files`),
UCF101 (:mod:`sharpvid.fast.video.ucf101`), training and test clips
(:mod:`sharpvid.fast.video.clips`) and prepared shards (:mod:`sharpvid.fast.video.shards`)."""

from sharpvid.fast.video.sources import DataError, Source, Video, open_source

__all__ = ["DataError", "Source", "Video", "open_source"]
