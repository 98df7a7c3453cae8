"""Bearing of an image point from the optical axis, from a sensor_msgs/CameraInfo calibration."""
from __future__ import annotations

import math

import cv2
import numpy as np


class Camera:
    """Pinhole model of a CameraInfo message: K, distortion model and coefficients D."""

    def __init__(self, k, d=(), distortion_model: str = "plumb_bob"):
        self.k = np.asarray(k, np.float64).reshape(3, 3)
        if self.k[0, 0] <= 0 or self.k[1, 1] <= 0:
            raise ValueError("camera matrix K has no positive focal lengths (uncalibrated camera)")
        self.d = np.asarray(d, np.float64)
        self.fisheye = distortion_model == "equidistant"

    @classmethod
    def from_camera_info(cls, msg) -> Camera:
        return cls(msg.k, msg.d, msg.distortion_model)

    def normalized(self, u: float, v: float) -> tuple[float, float]:
        """Undistorted normalised image coordinates (x right, y down, at z = 1) of pixel (u, v)."""
        point = np.array([[[u, v]]], np.float64)
        if self.fisheye and self.d.size == 4:
            x, y = cv2.fisheye.undistortPoints(point, self.k, self.d)[0, 0]
        elif self.d.size and np.any(self.d):
            x, y = cv2.undistortPoints(point, self.k, self.d)[0, 0]
        else:
            x = (u - self.k[0, 2]) / self.k[0, 0]
            y = (v - self.k[1, 2]) / self.k[1, 1]
        return float(x), float(y)


def bearing(camera: Camera, u: float, v: float) -> tuple[float, float, tuple[float, float, float]]:
    """(azimuth, elevation, unit direction) of pixel (u, v): azimuth positive right, elevation up (rad)."""
    x, y = camera.normalized(u, v)
    norm = math.sqrt(x * x + y * y + 1.0)
    return math.atan(x), math.atan2(-y, math.hypot(x, 1.0)), (x / norm, y / norm, 1.0 / norm)
