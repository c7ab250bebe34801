"""One analysis pass per photo: faces, 478-point mesh, person mask (and, on request, body pose).

The mediapipe graphs are created once per process (they take ~50 ms and some memory each)
and are not thread-safe, so each is guarded by its own lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ logging: errors only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from receipt.photo.landmarks import EAR_ROOT_L, EAR_ROOT_R, IRIS_CENTRE_L, IRIS_CENTRE_R  # noqa: E402

log = logging.getLogger(__name__)

@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """TFLite and absl print start-up chatter straight to fd 2; keep it out of CLI output."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _Models:
    """Lazily built mediapipe graphs, one of each per process."""

    def __init__(self) -> None:
        self._build_lock = threading.Lock()
        self._graphs: dict[str, object] = {}
        self.locks: dict[str, threading.Lock] = {
            name: threading.Lock() for name in ("faces", "faces_near", "mesh", "segmentation", "pose")
        }

    def get(self, name: str) -> object:
        graph = self._graphs.get(name)
        if graph is not None:
            return graph
        with self._build_lock:
            if name not in self._graphs:
                with _native_stderr_silenced():
                    graph = self._build(name)
                    # the first inferences print more chatter (square and non-square); spend it here
                    graph.process(np.zeros((256, 256, 3), np.uint8))  # type: ignore[attr-defined]
                    graph.process(np.zeros((320, 240, 3), np.uint8))  # type: ignore[attr-defined]
                self._graphs[name] = graph
            return self._graphs[name]

    @staticmethod
    def _build(name: str) -> object:
        import mediapipe as mp

        solutions = mp.solutions
        if name == "faces":
            # full-range model: finds the small second face in the back of a frame too
            return solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
        if name == "faces_near":
            # short-range model: a face filling most of the frame, which the full-range model misses
            return solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
        if name == "mesh":
            return solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3)
        if name == "segmentation":
            return solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        if name == "pose":
            # complexity 1 is the only one whose model ships in the wheel
            return solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False)
        raise ValueError(name)

    def warm_up(self) -> None:
        for name in ("faces", "mesh", "segmentation"):  # the pose graph only when asked for (analyse with_pose)
            self.get(name)


MODELS = _Models()


def warm_up() -> None:
    """Build every model now (worker start-up) instead of on the first photo."""
    from receipt.photo import icc, matting, skin_likeness

    MODELS.warm_up()
    matting.warm_up()
    icc.warm_up()
    skin_likeness.warm_up()


UNIT_SCALE = (np.arange(256, dtype=np.float32) / 255.0).reshape(1, 256)  # cv2.LUT table: 8-bit code -> 0..1


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height in pixels
    score: float
    keypoints: np.ndarray  # 6x2 pixels: right eye, left eye, nose, mouth, right ear, left ear
    near: bool = False  # found by the short-range detector only (see _detect_faces)

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    @property
    def ear_span(self) -> float:
        """Pixels between the detector's two ear points: the face's width, narrower when it turns away."""
        return float(np.linalg.norm(self.keypoints[4] - self.keypoints[5]))


@dataclass
class Analysis:
    """Everything the rules and the composer need to know about one photo."""

    image: np.ndarray  # HxWx3 RGB uint8 working copy
    faces: list[Face]
    mesh: np.ndarray | None  # 478x3: x, y in pixels, z in pixels (relative depth) for the main face
    person_mask: np.ndarray  # HxW float32 0..1, 0 outside the analysed region
    pose: np.ndarray | None  # 33x4: x, y pixels, z, visibility; only with analyse(with_pose=True)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @cached_property
    def body_pose(self) -> np.ndarray | None:
        """The body pose landmarks, run now if analyse did not (~20 ms): for a rule that needs them on this photo only."""
        if self.pose is not None:
            return self.pose
        start = time.perf_counter()
        pose = _pose(self.image)
        self.timings_ms["pose"] = round((time.perf_counter() - start) * 1000, 2)
        return pose

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def main_face(self) -> Face | None:
        return self.faces[0] if self.faces else None

    @cached_property
    def eye_centres(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(image-left eye, image-right eye) iris centres in pixels."""
        if self.mesh is None:
            return None
        return self.mesh[IRIS_CENTRE_R, :2].copy(), self.mesh[IRIS_CENTRE_L, :2].copy()

    @cached_property
    def roll_deg(self) -> float | None:
        """Angle of the eye line; positive = the image-right eye is lower."""
        eyes = self.eye_centres
        if eyes is None:
            return None
        dx, dy = eyes[1] - eyes[0]
        return float(np.degrees(np.arctan2(dy, dx)))

    @cached_property
    def face_width_px(self) -> float | None:
        """Width between the ear roots (face contour at ear level), as GA 461 measures it."""
        if self.mesh is None:
            return None
        return float(np.linalg.norm(self.mesh[EAR_ROOT_L, :2] - self.mesh[EAR_ROOT_R, :2]))

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.image, cv2.COLOR_RGB2GRAY)

    @cached_property
    def person_codes(self) -> np.ndarray:
        """person_mask as 8-bit codes (read back with UNIT_SCALE): warped and area-averaged 2-4x faster
        than floats, and its 1/255 steps are far finer than the 0.1..0.5 cuts the rules and the crown read."""
        return cv2.convertScaleAbs(self.person_mask, alpha=255.0)


def _detect_faces(rgb: np.ndarray) -> list[Face]:
    """Faces, the main one first (main_first): the full-range detector, and the short-range one when it finds none (a
    close-up face filling the frame). The short-range model also sees an upright face in an upside-down
    one, so its faces are marked `near` and the orientation search weighs them against the turns."""
    result = None
    for name in ("faces", "faces_near"):
        graph = MODELS.get(name)
        with MODELS.locks[name]:
            result = graph.process(rgb)
        if result.detections:
            break
    h, w = rgb.shape[:2]
    faces: list[Face] = []
    for det in result.detections or []:
        rel = det.location_data.relative_bounding_box
        keypoints = np.array([[k.x * w, k.y * h] for k in det.location_data.relative_keypoints], dtype=np.float32)
        faces.append(Face(box=(rel.xmin * w, rel.ymin * h, rel.width * w, rel.height * h),
                          score=float(det.score[0]), keypoints=keypoints, near=name == "faces_near"))
    return main_first(faces)


# Two faces whose detector boxes are this close in area are alike in size as far as the box can
# tell: the box is a square fitted loosely around the face (hair, a head tilt or turn move it by a few
# per cent), so a couple side by side come out within 2-3 % of each other whoever is nearer.
SIZE_TIE = 0.9


def main_first(faces: list[Face]) -> list[Face]:
    """Faces largest first, the applicant's face (the main face) at the head: among the faces as
    large as the largest (SIZE_TIE), the one widest between the ears — the nearer and more frontal
    face, as the face width GA 461 measures."""
    faces = sorted(faces, key=lambda f: f.area, reverse=True)
    if len(faces) < 2:
        return faces
    alike = [f for f in faces if f.area >= SIZE_TIE * faces[0].area]
    main = max(alike, key=lambda f: f.ear_span)  # the first of equals: the largest box
    return [main] + [f for f in faces if f is not main]


def _square_crop(rgb: np.ndarray, cx: float, cy: float, side: float) -> tuple[np.ndarray, int, int]:
    h, w = rgb.shape[:2]
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1]), x0, y0


def _face_mesh(rgb: np.ndarray, face: Face | None) -> np.ndarray | None:
    """Mesh of the main face, run on a crop around it so small faces still get 192 px of detail."""
    graph = MODELS.get("mesh")
    attempts: list[tuple[np.ndarray, int, int, float]] = []
    if face is not None:
        cx, cy = face.centre
        crop, x0, y0 = _square_crop(rgb, cx, cy, max(face.box[2], face.box[3]) * 2.2)
        scale = 1.0
        if max(crop.shape[:2]) > 640:  # the mesh model sees 192 px anyway
            scale = 640 / max(crop.shape[:2])
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        attempts.append((crop, x0, y0, scale))
    attempts.append((rgb, 0, 0, 1.0))
    for image, x0, y0, scale in attempts:
        if image.size == 0:
            continue
        with MODELS.locks["mesh"]:
            result = graph.process(image)
        if result.multi_face_landmarks:
            ih, iw = image.shape[:2]
            pts = np.array([[p.x * iw, p.y * ih, p.z * iw] for p in result.multi_face_landmarks[0].landmark],
                           dtype=np.float32)
            pts /= scale
            pts[:, 0] += x0
            pts[:, 1] += y0
            return pts
    return None


def _portrait_region(shape: tuple[int, ...], face: Face) -> tuple[int, int, int, int]:
    """Head-and-shoulders region: covers any spec crop around this face with room to spare."""
    h, w = shape[:2]
    cx, cy = face.centre
    fw = face.box[2]
    x0, x1 = int(max(0, cx - 2.2 * fw)), int(min(w, cx + 2.2 * fw))
    y0, y1 = int(max(0, cy - 2.0 * fw)), int(min(h, cy + 2.8 * fw))
    return x0, y0, x1, y1


def _person_mask(rgb: np.ndarray, face: Face | None) -> np.ndarray:
    """Selfie segmentation on the head-and-shoulders region, so its 256 px see hair edges finely."""
    graph = MODELS.get("segmentation")
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), dtype=np.float32)
    x0, y0, x1, y1 = _portrait_region(rgb.shape, face) if face is not None else (0, 0, w, h)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    with MODELS.locks["segmentation"]:
        result = graph.process(crop)
    if result.segmentation_mask is not None:
        mask[y0:y1, x0:x1] = result.segmentation_mask.astype(np.float32)
    return mask


def _pose(rgb: np.ndarray) -> np.ndarray | None:
    graph = MODELS.get("pose")
    h, w = rgb.shape[:2]
    scale = 1.0
    image = rgb
    if max(h, w) > 640:  # pose runs at 256 px internally; resizing first saves the copy cost
        scale = 640 / max(h, w)
        # exact box averaging: the nod POSE reads from the body pose moves with the filter (shrink: EER 8.6 -> 10 %)
        image = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    with MODELS.locks["pose"]:
        result = graph.process(image)
    if result.pose_landmarks is None:
        return None
    ih, iw = image.shape[:2]
    return np.array([[p.x * iw / scale, p.y * ih / scale, p.z, p.visibility] for p in result.pose_landmarks.landmark],
                    dtype=np.float32)


_first_analysis = threading.Event()


def analyse(rgb: np.ndarray, *, with_pose: bool = False) -> Analysis:
    """Run the face detector, the mesh and the person segmentation once on an RGB uint8 image.

    The body pose model (~20 ms, the dearest step of a check) runs here only with with_pose; POSE
    asks for it (Analysis.body_pose) on the photos its face-only first stage cannot settle."""
    if not _first_analysis.is_set():
        # calculators that only run on a real face print one-time warnings; keep them off the CLI
        with _native_stderr_silenced():
            result = _analyse(rgb, with_pose=with_pose)
        _first_analysis.set()
        return result
    return _analyse(rgb, with_pose=with_pose)


def _analyse(rgb: np.ndarray, *, with_pose: bool) -> Analysis:
    rgb = np.ascontiguousarray(rgb)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = fn(*args)
        timings[name] = round((time.perf_counter() - start) * 1000, 2)
        return value

    faces = timed("faces", _detect_faces, rgb)
    main = faces[0] if faces else None
    mesh = timed("mesh", _face_mesh, rgb, main)
    if main is None and mesh is not None:
        # the mesh's own detector found a face the full-range detector missed
        x0, y0 = mesh[:, 0].min(), mesh[:, 1].min()
        x1, y1 = mesh[:, 0].max(), mesh[:, 1].max()
        main = Face(box=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)), score=0.5,
                    keypoints=np.zeros((6, 2), np.float32))
        faces = [main]
    mask = timed("segmentation", _person_mask, rgb, main)
    pose = timed("pose", _pose, rgb) if with_pose else None
    return Analysis(image=rgb, faces=faces, mesh=mesh, person_mask=mask, pose=pose, timings_ms=timings)
