"""PASCAL-VOC style xml annotations as used by ImageNet DET and VID."""
from __future__ import annotations

import xml.etree.ElementTree as ET


def read_objects(path: str) -> list[tuple[str | None, tuple[float, float, float, float]]]:
    """(trackid or None, (x1, y1, x2, y2)) of each object with a positive-size box."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        raise ValueError(f"{path}: unreadable annotation ({e})") from None
    objects = []
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        if box is None:
            continue
        try:
            x1, y1, x2, y2 = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            continue
        if x2 > x1 and y2 > y1:
            objects.append((obj.findtext("trackid"), (x1, y1, x2, y2)))
    return objects
