"""Puts ``tests/`` on ``sys.path``, so the helper modules kept here (like :mod:`tool_world`)
import by name from every test folder, whichever folders a run selects."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
