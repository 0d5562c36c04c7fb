"""'did you mean' wherever a user names a scenario, a case, a fault type or a field (issue 16,
item 6), beyond the scenario files and headers of tests/test_suggest.py: the control API's
runtime rules, the Toxiproxy API's toxics (toxiproxy-python against the real proxy process),
``faultkit run --scenario/--case``, a cases file's fields and ``faultkit explore --faults``."""

from __future__ import annotations

import ast
import contextlib
import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory, run_proxy

from faultkit.cli import main
from faultkit.errors import FaultkitError
from faultkit.runner.cases import load_cases
from faultkit.runner.errors import RunError
from faultkit.strategies import fault_plans

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    factory = ProxyFactory(tmp_path_factory.mktemp("suggest"))
    yield factory("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    factory.close()


@pytest.mark.parametrize(
    ("rule", "hint"),
    [
        ({"type": "http_eror", "status": 503}, "did you mean 'http_error'?"),
        (
            {"type": "http_error", "statsu": 503},
            "fault.statsu: unknown field; did you mean 'status'?",
        ),
        (
            {"fault": {"type": "http_error", "status": 503}, "mach": {"route": "orders"}},
            "mach: unknown field; did you mean 'match'?",
        ),
        (
            {"fault": {"type": "latency", "latency_ms": 5}, "when": {"nht": 2}},
            "when.nht: unknown field; did you mean 'nth'?",
        ),
    ],
)
def test_control_api_runtime_rules(served, rule: dict, hint: str) -> None:
    reply = httpx.post(f"{served.control}/faultkit/faults", json={"name": "r", **rule}, timeout=5)
    assert reply.status_code == 400
    assert hint in reply.json()["error"]


def error_of(exc: Exception) -> str:
    """The API's error text in a toxiproxy-python exception (it carries the body's bytes)."""
    return json.loads(ast.literal_eval(str(exc)))["error"]


def test_toxiproxy_python_gets_the_hint_for_a_mistyped_toxic(served) -> None:
    toxiproxy = pytest.importorskip("toxiproxy")
    from toxiproxy.api import APIConsumer
    from toxiproxy.exceptions import InvalidToxic

    saved = APIConsumer.host, APIConsumer.port
    control = urlsplit(served.control)
    APIConsumer.host, APIConsumer.port = control.hostname, control.port
    try:
        orders = toxiproxy.Toxiproxy().get_proxy("orders")
        with pytest.raises(InvalidToxic) as typo:
            orders.add_toxic(name="t1", type="http_eror", attributes={"status": 503})
        assert error_of(typo.value) == "invalid toxic type; did you mean 'http_error'?"
        with pytest.raises(InvalidToxic) as tcp_typo:
            orders.add_toxic(name="t2", type="latncy", attributes={"latency": 5})
        assert error_of(tcp_typo.value) == "invalid toxic type; did you mean 'latency'?"
    finally:
        APIConsumer.host, APIConsumer.port = saved
    # A field of an HTTP fault toxic, over the plain API.
    reply = httpx.post(
        f"{served.control}/proxies/orders/toxics",
        json={"name": "t3", "type": "http_error", "attributes": {"statsu": 503}},
        timeout=5,
    )
    assert reply.status_code == 400
    assert "statsu: unknown field; did you mean 'status'?" in reply.json()["error"]
    # Nothing was added by the refused requests.
    assert httpx.get(f"{served.control}/proxies/orders/toxics", timeout=5).json() == []


def test_fault_header_fields(served) -> None:
    reply = httpx.get(
        served.door("orders") + "/orders/1234",
        headers={"x-faultkit-fault": "type=http_error;statsu=429"},
        timeout=5,
    )
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    assert "x-faultkit-fault: " in message
    assert "fault.statsu: unknown field; did you mean 'status'?" in message


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def test_faultkit_run_scenario_and_case_names() -> None:
    code, err = cli("run", "--scenario", "429-brust", "--no-report", "-q")
    assert code == 2
    assert "unknown scenario '429-brust'" in err and "did you mean '429-burst'?" in err
    assert "Traceback" not in err
    code, err = cli(
        "run", "--app", "robust", "--scenario", "429-burst", "--case", "order-123", "-q"
    )
    assert code == 2
    assert "unknown case 'order-123'; did you mean 'order-1234'? known: order-1234" in err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "cases:\n  - name: a\n    inptu: {}\n",
            "cases.0.inptu: unknown field; did you mean 'input'?",
        ),
        (
            "contract:\n  deadine_ms: 3\ncases: []\n",
            "contract.deadine_ms: unknown field; did you mean 'deadline_ms'?",
        ),
        ("casse: []\n", "casse: unknown field; did you mean 'cases'?"),
    ],
)
def test_cases_file_fields(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    with pytest.raises(RunError) as info:
        load_cases(path)
    assert str(info.value) == f"{path}: {problem}"


def test_explore_faults_option() -> None:
    with pytest.raises(FaultkitError) as info:
        fault_plans(faults=["http_eror"])
    assert "no strategy for fault 'http_eror'; did you mean 'http_error'? use one of:" in str(
        info.value
    )


def test_proxy_names(served, tmp_path: Path) -> None:
    """A mistyped Toxiproxy proxy (toxiproxy-python's get_proxy) and --only upstream."""
    reply = httpx.get(f"{served.control}/proxies/ordres", timeout=5)
    assert reply.status_code == 404
    assert reply.json()["error"] == "proxy not found; did you mean 'orders'?"
    assert httpx.get(f"{served.control}/proxies/zzz", timeout=5).json()["error"] == (
        "proxy not found"
    )
    code, _out, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--only", "opnai")
    assert code == 2
    assert "--only: unknown upstream opnai (did you mean 'openai'? known: openai," in err
