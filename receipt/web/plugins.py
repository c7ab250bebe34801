"""Web screens are plugins: every `register(app)` in the entry-point group ``photo_receipt.web``
(review_ui declares its pages there in pyproject.toml) plus any ``module:function`` listed in
PHOTO_RECEIPT_WEB_PLUGINS. So `receipt` never imports `review_ui`, and an API-only deployment
simply does not install or list it (PHOTO_RECEIPT_WEB_PLUGINS=none turns the entry points off).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from fastapi import FastAPI

from receipt.config import web_plugins_setting

PLUGIN_GROUP = "photo_receipt.web"


def load_plugins(app: FastAPI) -> list[str]:
    """Call `register(app)` of every web plugin (entry points + PHOTO_RECEIPT_WEB_PLUGINS)."""
    setting = web_plugins_setting()
    targets: list[tuple[str, Callable[[FastAPI], None]]] = []
    if setting.lower() != "none":
        for ep in entry_points(group=PLUGIN_GROUP):
            targets.append((ep.value, ep.load()))
        for item in filter(None, (s.strip() for s in setting.split(","))):
            module_name, _, attr = item.partition(":")
            targets.append((item, getattr(importlib.import_module(module_name), attr or "register")))
    loaded: list[str] = []
    for name, register in targets:
        if name in loaded:
            continue
        register(app)
        loaded.append(name)
    return loaded
