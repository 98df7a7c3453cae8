"""sensor_msgs images to BGR arrays and back, with cv_bridge when installed and a built-in fallback.

Messages are only read through their attributes, so this module needs no ROS import.
"""
from __future__ import annotations

import cv2
import numpy as np

try:  # cv_bridge ships with ROS distributions, not on PyPI
    from cv_bridge import CvBridge
except ImportError:  # pragma: no cover - depends on the installation
    CvBridge = None

# encoding -> (channels, cv2 conversion to BGR or None)
ENCODINGS = {
    "bgr8": (3, None),
    "rgb8": (3, cv2.COLOR_RGB2BGR),
    "mono8": (1, cv2.COLOR_GRAY2BGR),
    "bgra8": (4, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, cv2.COLOR_RGBA2BGR),
}


class ImageError(ValueError):
    """An image message that cannot be used; ``reason`` groups messages for log throttling (one group per
    kind of fault, and per encoding for unknown encodings)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ImageConverter:
    """Converts Image / CompressedImage messages to HxWx3 BGR uint8 arrays."""

    def __init__(self, use_cv_bridge: bool = True):
        self.bridge = CvBridge() if use_cv_bridge and CvBridge is not None else None

    @property
    def backend(self) -> str:
        return "cv_bridge" if self.bridge is not None else "built-in"

    def image(self, msg) -> np.ndarray:
        """BGR pixels of a sensor_msgs/Image; ImageError if it is malformed or of an unknown encoding."""
        if self.bridge is None or msg.encoding in ENCODINGS:
            return image_to_bgr(msg)
        check_layout(msg)
        try:  # encodings beyond ours (bayer, yuv422, 16-bit, ...) when cv_bridge can convert them
            return np.ascontiguousarray(self.bridge.imgmsg_to_cv2(msg, desired_encoding="bgr8"))
        except Exception as error:  # noqa: BLE001 - cv_bridge raises CvBridgeError and cv2.error alike
            raise ImageError(f"encoding {msg.encoding}", f"cannot convert image encoding {msg.encoding!r} to bgr8: {error}") from None

    def compressed(self, msg) -> np.ndarray:
        """BGR pixels of a sensor_msgs/CompressedImage (JPEG, PNG, ...); ImageError if it does not decode."""
        data = np.frombuffer(msg.data, np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None or image.size == 0:
            raise ImageError("decode", f"cannot decode compressed image (format {msg.format!r}, {data.size} bytes)")
        return image


def check_layout(msg) -> None:
    """Reject zero-sized images and those whose data size disagrees with step x height."""
    if msg.width == 0 or msg.height == 0:
        raise ImageError("size", f"empty image ({msg.width}x{msg.height})")
    if len(msg.data) != msg.step * msg.height:
        raise ImageError("layout", f"image data has {len(msg.data)} bytes but step x height = "
                                   f"{msg.step} x {msg.height} = {msg.step * msg.height}")


def image_to_bgr(msg) -> np.ndarray:
    """The built-in conversion for the encodings in ``ENCODINGS`` (8 bits per channel)."""
    if msg.encoding not in ENCODINGS:
        raise ImageError(f"encoding {msg.encoding}", f"unsupported image encoding {msg.encoding!r}; supported: "
                                     f"{', '.join(ENCODINGS)} (more with cv_bridge installed)")
    check_layout(msg)
    channels, code = ENCODINGS[msg.encoding]
    row = msg.width * channels
    if msg.step < row:
        raise ImageError("layout", f"image step {msg.step} is smaller than width x channels = {row}")
    pixels = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)[:, :row]
    pixels = pixels.reshape(msg.height, msg.width, channels)
    if code is None:
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(pixels, code)


def bgr_to_image_fields(image: np.ndarray) -> dict:
    """Field values of a bgr8 sensor_msgs/Image holding ``image``."""
    height, width = image.shape[:2]
    return {"height": height, "width": width, "encoding": "bgr8", "is_bigendian": 0, "step": width * 3,
            "data": np.ascontiguousarray(image).tobytes()}
