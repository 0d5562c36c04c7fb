"""The JSON report: the whole :class:`RunReport`, every verdict with its findings, the result
and the ledger entries it rests on. Stable key order, two-space indent."""

from __future__ import annotations

import json as _json
from pathlib import Path

from faultkit.runner.model import RunReport


def dumps(report: RunReport) -> str:
    return _json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def write(report: RunReport, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dumps(report), encoding="utf-8")
    return path
