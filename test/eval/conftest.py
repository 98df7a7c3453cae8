"""Fixtures of the evaluation tests (helpers live in evalkit.py)."""
import cv2
import numpy as np
import pytest


@pytest.fixture
def template_jpg(tmp_path):
    path = tmp_path / "template.jpg"
    cv2.imwrite(str(path), np.full((8, 8, 3), 128, np.uint8))
    return str(path)
