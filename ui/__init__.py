"""The browser chat (Gradio): asks qa/ for answers and index/ for uploads and removals."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before any kbqa.ui module imports gradio: no telemetry
