"""The one table of face-mesh and pose landmark indices (mediapipe's refined 478-point topology).

Named groups, as OFIQ's FaceParts does: code says `CHIN`, never `pts[152]`. "R" is the
subject's right, which is the image's left.
"""

from __future__ import annotations

# single points
FOREHEAD = 10  # top of the mesh, the hairline centre
CHIN = 152
NOSE_TIP = 1
SUBNASALE = 2  # where the nose meets the upper lip
GLABELLA = 168  # between the brows
EAR_ROOT_R, EAR_ROOT_L = 234, 454  # face contour where it meets the ears
EYE_OUTER_R, EYE_OUTER_L = 33, 263
EYE_INNER_R, EYE_INNER_L = 133, 362
IRIS_CENTRE_R, IRIS_CENTRE_L = 468, 473
NOSE_ALA_R, NOSE_ALA_L = 64, 294  # the nostril wings, where nose studs sit
BROW_OUTER_R, BROW_OUTER_L = 46, 276  # brow tails, where brow piercings sit
LIP_LOWER_MID = 17  # lower lip's outer edge, below which lip rings and labrets sit

# outlines
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
EYE_R = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_L = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
BROW_R = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
BROW_L = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
NOSE_LOWER = (64, 48, 115, 220, 45, 4, 275, 440, 344, 278, 294, 460, 326, 2, 97, 240)
CHEEK_R = (117, 118, 101, 36, 205, 187, 123, 116)
CHEEK_L = (346, 347, 330, 266, 425, 411, 352, 345)
IRIS_R = (468, 469, 470, 471, 472)
IRIS_L = (473, 474, 475, 476, 477)

# mediapipe pose (33 points)
POSE_NOSE, POSE_EAR_LEFT, POSE_EAR_RIGHT = 0, 7, 8
POSE_SHOULDER_LEFT, POSE_SHOULDER_RIGHT = 11, 12
