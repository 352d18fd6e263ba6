"""FeastPusher: transformed examples into the Feast offline store, then online."""

from tfx_pipeline.components.feast_pusher.component import FeastPusher, FeastPushResult

__all__ = ["FeastPushResult", "FeastPusher"]
