"""The cases file: what to ask the target, and what the target promises (its contract).

One YAML file beside the scenarios::

    contract:                    # faultkit.oracle.Contract; import paths for classes
      output_model: myapp.models:Answer
      error_types: [myapp.errors:AppError]
      deadline_ms: 15000
      trace_required: true
    cassettes: [cassettes/]      # replayed for every case (relative to this file)
    match_on: [method, uri, body]
    ignore_body_fields: []
    playback: repeat             # once | repeat | cycle
    cases:
      - name: order-1234
        input: {question: "Where is my order 1234?"}

A mapping ``input`` becomes keyword arguments of a Python target (and the JSON body posted to
an HTTP target); any other value is passed as the one positional argument. Cassette matching
defaults to method, URL and JSON body with ``repeat`` playback, because a retry re-sends the
same request and must get an answer again; ``once`` plays each recording once (an app that
must not ask twice), ``cycle`` goes round them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from faultkit import yamlfile
from faultkit.cassettes.keys import KeyFunction
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, Playback
from faultkit.errors import CassetteError
from faultkit.oracle.contract import Contract
from faultkit.runner.errors import RunError
from faultkit.scenario import NAME_PATTERN
from faultkit.suggest import did_you_mean, field_hint


class Case(BaseModel):
    """One input to run the target with, under every scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    input: Any = None


class CasesFile(BaseModel):
    """The parsed cases file. ``cassettes`` are resolved against the file's directory."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(None, description="Default target (module:function or URL).")
    contract: Contract = Field(default_factory=Contract)
    cassettes: list[str] = Field(default_factory=list)
    match_on: list[str] = Field(default_factory=lambda: list(APP_MATCH_ON))
    ignore_body_fields: list[str] = Field(default_factory=list)
    playback: Playback = APP_PLAYBACK
    cases: list[Case] = Field(default_factory=lambda: [Case(name="default")])
    path: Path | None = Field(None, exclude=True)

    @field_validator("match_on")
    @classmethod
    def _known_matchers(cls, value: list[str]) -> list[str]:
        """Checked here, by the cassette store's own rule, so the error names the cases file
        and the field, not only the store that would refuse it later."""
        try:
            KeyFunction(value)
        except CassetteError as exc:
            raise ValueError(str(exc)) from None
        return value

    def cassette_paths(self) -> list[Path]:
        base = self.path.parent if self.path is not None else Path.cwd()
        return [p if p.is_absolute() else base / p for p in map(Path, self.cassettes)]

    def select(self, names: list[str]) -> list[Case]:
        """The cases named (all when ``names`` is empty); an unknown name is a RunError."""
        if not names:
            return list(self.cases)
        known = {c.name: c for c in self.cases}
        missing = [n for n in names if n not in known]
        if missing:
            raise RunError(
                f"unknown case {', '.join(map(repr, missing))}; "
                f"{did_you_mean(missing[0], known)}known: {', '.join(known) or '(none)'}"
            )
        return [known[n] for n in names]


MAX_CASES_BYTES = 8 * 1024 * 1024


def load_cases(path: str | Path) -> CasesFile:
    """Read and validate a cases file; every problem becomes one RunError line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: cases file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: cannot read: {exc}") from None
    try:
        data = yamlfile.load(text, max_bytes=MAX_CASES_BYTES)[0]
    except yamlfile.YamlRefused as exc:
        raise RunError(f"{path}:{exc.line}: {exc.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RunError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RunError(f"{path}: a cases file is a mapping with 'cases' (and 'contract')")
    try:
        parsed = CasesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + field_hint(CasesFile, err["loc"])
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RunError(f"{path}: {where}: {msg}{more}") from None
    names = [c.name for c in parsed.cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RunError(f"{path}: cases: repeated case name {', '.join(dupes)}")
    parsed.path = path
    return parsed
