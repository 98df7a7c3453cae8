"""siamrpnpp_core: the SiamRPN++ tracker (model, weights, tracking algorithm) without ROS."""
from .builder import build_model, build_tracker
from .checkpoint import CheckpointError, load_weights, read_state_dict
from .config import DEFAULT_PRESET, PRESETS, ModelConfig, Preset, TrackerConfig, get_preset
from .device import resolve_device
from .sources import open_frames
from .backends import BACKENDS, build_engine
from .tracker import SiamRPNTracker, TrackResult, TrackState, track_batch

__all__ = [
    "BACKENDS", "DEFAULT_PRESET", "PRESETS", "CheckpointError", "ModelConfig", "Preset", "SiamRPNTracker", "TrackResult", "TrackState",
    "TrackerConfig", "build_engine", "build_model", "build_tracker", "get_preset", "load_weights", "open_frames",
    "read_state_dict", "resolve_device", "track_batch",
]
__version__ = "0.1.0"
