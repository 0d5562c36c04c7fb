"""`faultkit run` finds the user's modules from the current directory, as pytest and uvicorn do.

A real ``faultkit`` console script runs in a fresh project directory with ``PYTHONPATH`` unset:
the target (``shop.bot:careless``), the cases file's import paths (``shop.models:Answer``) and
the repro command it prints must all resolve with no ``PYTHONPATH=.``. (``python -m faultkit``
would put the directory on the path by itself and hide the difference, so it is not used.)
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tool_world import write_scenarios, write_tool_cassette

MODELS = """
from pydantic import BaseModel


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    \"\"\"Declared: the tool could not answer.\"\"\"
"""

BOT = """
import httpx

from shop.models import Answer, AppError


def careful(item_id: str, *, http_client_factory=httpx.Client) -> Answer:
    with http_client_factory(timeout=2.0) as client:
        response = client.get(f"http://tools.internal/items/{item_id}")
    if response.status_code != 200:
        raise AppError(f"tool said {response.status_code}")
    data = response.json()
    return Answer(item=data["name"], price=data["price"])


def careless(item_id: str, *, http_client_factory=httpx.Client) -> dict:
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}
"""

CASES = """
contract:
  output_model: shop.models:Answer
  error_types: [shop.models:AppError]
  deadline_ms: 2000
cassettes: [tools.yaml]
cases:
  - name: lamp
    input: {item_id: "7"}
"""


def _faultkit() -> str:
    """The installed console script (beside this interpreter, else on PATH)."""
    script = Path(sys.executable).with_name("faultkit")
    found = str(script) if script.exists() else shutil.which("faultkit")
    if found is None:
        pytest.fail("the faultkit console script is not installed (pip install -e .)")
    return found


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (package / "bot.py").write_text(BOT)
    (tmp_path / "cases.yaml").write_text(CASES)
    write_tool_cassette(tmp_path)
    write_scenarios(tmp_path)
    return tmp_path


def run(project: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [_faultkit(), *argv[1:]] if argv[0] == "faultkit" else argv,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_target_and_contract_imports_resolve_from_the_current_directory(shop: Path) -> None:
    args = ["run", "shop.bot:careful", "--cases", "cases.yaml", "--scenarios", "scenarios"]
    done = run(shop, ["faultkit", *args, "--no-report"])
    assert done.returncode == 0, done.stderr
    assert "shop.bot:careful: 2/2 controlled" in done.stdout


def test_a_printed_repro_command_runs_as_printed(shop: Path) -> None:
    args = ["run", "shop.bot:careless", "--cases", "cases.yaml", "--scenarios", "scenarios"]
    done = run(shop, ["faultkit", *args, "--no-report"])
    assert done.returncode == 1, done.stderr
    (line,) = [row for row in done.stdout.splitlines() if row.strip().startswith("crash ")]
    repro = shlex.split(line.split(None, 1)[1])
    assert repro[:3] == ["faultkit", "run", "shop.bot:careless"]
    again = run(shop, repro)
    assert again.returncode == 1, again.stderr
    assert "tool-down  crash" in again.stdout
    assert "calm" not in again.stdout  # only the one cell it names


def test_a_module_that_fails_to_import_is_a_one_line_error(shop: Path) -> None:
    (shop / "shop" / "broken.py").write_text("raise RuntimeError('no config file')\n")
    done = run(shop, ["faultkit", "run", "shop.broken:answer", "--no-report"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "importing 'shop.broken'" in done.stderr
    assert "RuntimeError: no config file" in done.stderr
