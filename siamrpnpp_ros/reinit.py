"""Choosing detector boxes to re-initialise lost targets with."""
from __future__ import annotations


def detection_score(det, class_id: str = "") -> float:
    """Best hypothesis score of a vision_msgs/Detection2D, only over ``class_id`` when given (else -1)."""
    scores = [r.hypothesis.score for r in det.results if not class_id or r.hypothesis.class_id == class_id]
    return max(scores, default=-1.0)


def pick_detections(detections, count: int, class_id: str = "", min_score: float = 0.5):
    """Up to ``count`` ((x, y, w, h), score) of the best-scoring detections with a usable box."""
    scored = []
    for det in detections:
        score = detection_score(det, class_id)
        w, h = det.bbox.size_x, det.bbox.size_y
        if score >= min_score and w > 0 and h > 0:
            box = (det.bbox.center.position.x - w / 2.0, det.bbox.center.position.y - h / 2.0, w, h)
            scored.append((box, score))
    scored.sort(key=lambda item: -item[1])
    return scored[:count]
