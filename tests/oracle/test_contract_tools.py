"""The contract's tool fields: a tool named by its request (``tools``), by its MCP name, or
derived from the model's tool calls and the tool requests that followed; steps counted per
logical call; a bad tool request in a cases file is one located line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from faultkit.cli import main
from faultkit.ledger import LedgerEntry
from faultkit.oracle import Contract
from faultkit.oracle.tools import steps, tool_names

_ids = iter(range(1, 10_000))


def entry(route: str, url: str, *, fmt: str = "json", method: str = "POST", **kw) -> LedgerEntry:
    n = next(_ids)
    kw.setdefault("logical_call", n)
    return LedgerEntry(
        id=n,
        route=route,
        method=method,
        url=url,
        format=fmt,
        attempt=kw.pop("attempt", 1),
        arrival_ms=float(n),
        **kw,
    )


def model(calls: list[str]) -> LedgerEntry:
    return entry(
        "openai", "https://api.openai.com/v1/chat/completions", fmt="openai_chat", tool_calls=calls
    )


def test_the_tools_map_names_a_request_by_method_route_and_path() -> None:
    contract = Contract(
        tools={"issue_refund": "POST payments.*/*refunds", "lookup": "orders.example"}
    )
    refund = entry("payments.eu", "https://payments.eu/v1/refunds?order=1")
    get_refund = entry("payments.eu", "https://payments.eu/v1/refunds", method="GET")
    order = entry("orders.example", "https://orders.example/orders/1", method="GET")
    names = tool_names([refund, get_refund, order], contract)
    assert names == {refund.id: "issue_refund", order.id: "lookup"}
    assert contract.model_dump(mode="json")["tools"] == {
        "issue_refund": "POST payments.*/*refunds",
        "lookup": "orders.example",
    }


def test_unmapped_tools_are_derived_from_the_tool_calls_that_preceded_them() -> None:
    one = model(["issue_refund"])
    refund = entry("payments.eu", "https://payments.eu/refunds")
    retry = entry("payments.eu", "https://payments.eu/refunds", logical_call=refund.logical_call)
    two = model(["get_order", "get_customer"])
    order = entry("shop.example", "https://shop.example/orders/1", method="GET")
    customer = entry("shop.example", "https://shop.example/customers/7", method="GET")
    three = model(["a", "b"])  # two calls asked, one request made: nothing is guessed
    lone = entry("shop.example", "https://shop.example/x", method="GET")
    mcp = entry("kb", "https://kb.example/mcp", fmt="mcp", tool="search")
    ledger = [one, refund, retry, two, order, customer, three, lone, mcp]
    assert tool_names(ledger, Contract()) == {
        refund.id: "issue_refund",
        retry.id: "issue_refund",
        order.id: "get_order",
        customer.id: "get_customer",
        mcp.id: "search",
    }


def test_steps_are_logical_calls_and_mcp_session_requests_are_not_steps() -> None:
    first = model(["lookup"])
    again = entry(
        "openai",
        "https://api.openai.com/v1/chat/completions",
        fmt="openai_chat",
        logical_call=first.logical_call,
        attempt=2,
    )
    init = entry("kb", "https://kb.example/mcp", fmt="mcp")  # initialize: no tool
    call = entry("kb", "https://kb.example/mcp", fmt="mcp", tool="search")
    plain = entry("shop.example", "https://shop.example/orders/1", method="GET")
    model_steps, tool_steps = steps([first, again, init, call, plain], Contract())
    assert len(model_steps) == 1
    assert tool_steps == [("kb", call.logical_call), ("shop.example", plain.logical_call)]


@pytest.mark.parametrize("bad", ["POST a b", "", "POST", "FETCH x/y z"])
def test_a_tool_request_that_is_not_method_and_glob_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="tools"):
        Contract.model_validate({"tools": {"t": bad}})


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="max_steps"):
        Contract(max_steps=0)
    with pytest.raises(ValidationError, match="token_budget"):
        Contract(token_budget=0)


def test_a_bad_tools_entry_in_a_cases_file_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('contract:\n  tools:\n    issue_refund: "POST payments refunds"\n')
    code = main(["run", "json.dumps", "--cases", str(cases)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "contract.tools.issue_refund" in err and "METHOD route/path" in err


def test_a_derived_name_needs_a_word_of_the_path() -> None:
    asked = model(["issue_refund"])
    lookup = entry("shop.example", "https://shop.example/orders/1042", method="GET")
    refund = entry("shop.example", "https://shop.example/v1/refunds")
    assert tool_names([asked, lookup, refund], Contract()) == {refund.id: "issue_refund"}
