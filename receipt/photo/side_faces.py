"""A second look for faces beside the main one: a bystander cut by the frame's edge, a child behind.

The analysis runs the full-range detector once on the whole photo, where a small, partial or
turned face next to a large main face often stays under its confidence cut. Run again on the
strips left and right of the main face (the detector resizes its input, so a strip gives a
bystander more of its pixels), the same detector finds them, with a confidence a rule can weigh.
One extra graph, built on first use; ~10 ms per photo on this machine.
"""

from __future__ import annotations

import threading

import numpy as np

MIN_CONFIDENCE = 0.5  # below this the detector's hits on strips are texture
MIN_STRIP = 0.08  # of the image width: narrower strips are left out

_lock = threading.Lock()
_graph: list[object] = []


def _detector() -> object:
    with _lock:
        if not _graph:
            import mediapipe as mp

            _graph.append(mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                                    min_detection_confidence=MIN_CONFIDENCE))
        return _graph[0]


def side_face_confidence(image: np.ndarray, main_box: tuple[float, float, float, float]) -> float:
    """The detector's highest confidence for a face in the strips left and right of the main face; 0 when none."""
    h, w = image.shape[:2]
    x, _, bw, _ = main_box
    strips = ((0, int(max(x, 0))), (int(min(x + bw, w)), w))
    best = 0.0
    graph = _detector()
    for x0, x1 in strips:
        if x1 - x0 < MIN_STRIP * w:
            continue
        with _lock:
            result = graph.process(np.ascontiguousarray(image[:, x0:x1]))  # type: ignore[attr-defined]
        for det in result.detections or []:
            best = max(best, float(det.score[0]))
    return best
