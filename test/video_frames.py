"""Reading frames of the real test videos (shared by tests; a module, not a conftest)."""
import cv2


def read_frames(path, count: int, start: int = 0):
    """The first ``count`` frames (after ``start``) of a video as BGR arrays."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    index = 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= start:
            frames.append(frame)
        index += 1
    capture.release()
    assert len(frames) == count, f"{path}: only {len(frames)} frames"
    return frames
