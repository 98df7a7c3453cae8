"""The node's parameters: one dataclass field each, with its default and its documentation."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from siamrpnpp_core import BACKENDS, DEFAULT_PRESET, TrackerConfig, tracker_config
from siamrpnpp_core.backends import PRECISIONS

TRANSPORTS = ("raw", "compressed")


def _param(default, doc: str, limits: tuple | None = None):
    """A parameter: its default, its documentation and, for numbers, its inclusive (low, high) range."""
    return field(default=default, metadata={"doc": doc, "range": limits})


@dataclass(frozen=True)
class NodeConfig:
    """All ROS parameters of the tracker node, read when the node is configured."""

    preset: str = _param(DEFAULT_PRESET, "Core preset: network and tracker hyperparameters.")
    weights: str = _param("", "Checkpoint file (pysot .pth, mmtracking .pth or .safetensors); empty = the "
                              "core's default: the shipped demonstration weights for the siamrpn_mobilev2_l5* "
                              "and AlexNet presets, "
                              "seeded random weights for the others (demos and tests only).")
    random_weights: bool = _param(False, "Seeded random weights for any preset (demos and tests only; "
                                         "weights must then be empty).")
    device: str = _param("auto", "auto (first CUDA GPU, else CPU; the choice is logged), cpu, cuda or cuda:N. "
                                 "A CUDA device that is missing is an error, never a silent CPU fallback.")
    half: bool = _param(False, "float16 inference (CUDA only).")
    backend: str = _param("auto", "Inference backend: auto (onnxruntime on the CPU, torch on CUDA), eager, torch, "
                                  "onnxruntime or openvino. All targets share one batched pass per frame.")
    cuda_graphs: bool = _param(False, "Replay the per-frame network step as a CUDA graph (backend torch, CUDA).")
    precision: str = _param("fp32", "CPU arithmetic: fp32 (exact), bf16, int8 (calibrated on real video) or "
                                    "auto (bf16, else int8, where this CPU has units for it, else fp32; logged).")
    cpu_threads: int = _param(0, "PyTorch CPU threads; 0 = PyTorch's default (all cores). On a CPU-only "
                                 "machine, one core fewer than it has keeps image callbacks timely.", (0, 1024))
    long_term: bool = _param(False, "Long-term mode: search the whole neighbourhood while the target is lost "
                                    "(the *_lt preset turns it on by itself).")
    confidence_low: float = _param(-1.0, "Score below which a target becomes LOST; negative = the preset's value.",
                                   (-1.0, 1.0))
    confidence_high: float = _param(-1.0, "Score above which a LOST target is TRACKING again; negative = preset's.",
                                    (-1.0, 1.0))
    colour_weight: float = _param(-1.0, "Share of the target's colour model in each proposal's score (0 = the "
                                        "authors' tracker); negative = the preset's value.", (-1.0, 1.0))
    colour_min_similarity: float = _param(-1.0, "LOST when the box's colours are less similar than this (0-1) to "
                                                "the target's; 0 = off, negative = the preset's value.", (-1.0, 1.0))
    max_targets: int = _param(1, "Targets followed at once, all sharing one network. With 1, set_target "
                                 "replaces the target; above 1, a new id beyond the limit is refused.", (1, 64))
    class_id: str = _param("target", "class_id of the hypothesis in every published Detection2D.")
    image_topic: str = _param("image", "Camera topic (sensor_msgs/Image, or <topic>/compressed when "
                                       "image_transport is compressed).")
    image_transport: str = _param("raw", "raw (sensor_msgs/Image) or compressed (sensor_msgs/CompressedImage).")
    output_topic: str = _param("tracked_object", "vision_msgs/Detection2D per target and tracked frame.")
    array_topic: str = _param("tracked_objects", "vision_msgs/Detection2DArray of all targets per frame "
                                                 "(published only while subscribed).")
    frame_buffer_size: int = _param(30, "Recent frames kept so set_target can initialise on the frame "
                                        "whose stamp it names.", (1, 1000))
    debug_image: bool = _param(True, "Offer ~/debug_image (box, score, state, fps drawn on the frame); it is "
                                     "rendered only while someone subscribes.")
    use_cv_bridge: bool = _param(True, "Convert images with cv_bridge when it is installed (more encodings); "
                                       "otherwise the built-in conversion.")
    detections_topic: str = _param("", "vision_msgs/Detection2DArray from a detector used to re-initialise a "
                                       "LOST target (best-scoring matching detection); empty = off.")
    reinit_min_score: float = _param(0.5, "Minimum detector score for a re-initialisation.", (0.0, 1.0))
    reinit_class_id: str = _param("", "Only detections with this class_id re-initialise; empty = any class.")
    publish_bearing: bool = _param(False, "Publish ~/bearing (siamrpnpp/TargetBearing: angles of the box "
                                          "centre from the optical axis) using camera_info_topic.")
    camera_info_topic: str = _param("camera_info", "sensor_msgs/CameraInfo of the camera (for the bearing).")
    diagnostics: bool = _param(True, "Publish diagnostic_msgs/DiagnosticArray on /diagnostics.")
    diagnostics_period: float = _param(1.0, "Seconds between diagnostics (and idle status) messages.", (0.05, 60.0))
    stale_input_timeout: float = _param(2.0, "With a target set, diagnostics turn WARN when no image arrived for "
                                             "this many seconds; 0 = never.", (0.0, 3600.0))
    autostart: bool = _param(True, "Configure and activate the (lifecycle) node at start-up. false: it waits, "
                                   "unconfigured, for `ros2 lifecycle set` (or a lifecycle manager).")

    def __post_init__(self) -> None:
        for f in fields(self):
            value, kind = getattr(self, f.name), type(f.default)
            if kind is float and type(value) is int:  # YAML `0` for a float parameter
                object.__setattr__(self, f.name, value := float(value))
            elif type(value) is not kind:
                raise ValueError(f"parameter {f.name} must be of type {kind.__name__}, got {value!r}")
            limits = f.metadata["range"]
            if limits is not None and not limits[0] <= value <= limits[1]:
                raise ValueError(f"parameter {f.name} must be in [{limits[0]}, {limits[1]}], got {value}")
        _check_choice("image_transport", self.image_transport, TRANSPORTS)
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("precision", self.precision, PRECISIONS)
        if self.random_weights and self.weights:
            raise ValueError("give either weights or random_weights, not both")
        if not self.image_topic or not self.output_topic:
            raise ValueError("parameters image_topic and output_topic must not be empty")

    def tracker_config(self) -> TrackerConfig:
        """The preset's tracker hyperparameters with this node's overrides (the core's ``tracker_config``)."""
        changes = {"long_term": True} if self.long_term else {}
        for name in ("confidence_low", "confidence_high", "colour_weight", "colour_min_similarity"):
            if getattr(self, name) >= 0:
                changes[name] = getattr(self, name)
        return tracker_config(self.preset, overrides=changes)



def parameter_docs() -> dict[str, tuple[object, str]]:
    """name -> (default, documentation) for every parameter."""
    return {f.name: (f.default, f.metadata["doc"]) for f in fields(NodeConfig)}


def parameter_ranges() -> dict[str, tuple]:
    """name -> inclusive (low, high) for every numeric parameter that has a range."""
    return {f.name: f.metadata["range"] for f in fields(NodeConfig) if f.metadata["range"] is not None}


def compressed_topic(resolved_image_topic: str) -> str:
    """The CompressedImage topic of image_transport's "compressed" transport for a fully resolved base topic."""
    return resolved_image_topic.rstrip("/") + "/compressed"


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"parameter {name} must be one of {', '.join(choices)}, got {value!r}")
