"""siamrpnpp_core: the SiamRPN++ tracker (model, weights, tracking algorithm) without ROS."""
from .builder import build_model, build_tracker
from .checkpoint import CheckpointError, load_weights, read_state_dict
from .config import (DEFAULT_PRESET, PRESETS, WEIGHTS_FORMATS, ModelConfig, Preset, TrackerConfig, get_preset,
                     tracker_config)
from .device import resolve_device
from .sources import open_frames
from .backends import BACKENDS, build_engine
from .options import TrackerOptions
from .tracker import SiamRPNTracker, TrackResult, TrackState, track_batch, tracker_config_for

__all__ = [
    "BACKENDS", "DEFAULT_PRESET", "PRESETS", "WEIGHTS_FORMATS", "CheckpointError", "ModelConfig", "Preset",
    "SiamRPNTracker", "TrackResult", "TrackState", "TrackerConfig", "TrackerOptions", "build_engine", "build_model",
    "build_tracker", "get_preset", "load_weights", "open_frames", "read_state_dict", "resolve_device", "track_batch",
    "tracker_config", "tracker_config_for",
]
__version__ = "0.1.0"
