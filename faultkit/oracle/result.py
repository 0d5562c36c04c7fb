"""What running the system under test produced: a value or an exception, how long it took, and
its decision trace.

Everything is stored as JSON-able data so a result serializes into a report and a verdict can be
re-judged later. A returned pydantic model becomes its JSON dump; an exception becomes its class
hierarchy (qualified names, so a declared base class matches a subclass) and message.

:func:`capture` is the one helper here that touches the outside world: it calls the target and
reads the clock it is given. The judge itself never does either.
"""

from __future__ import annotations

import inspect
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from faultkit.oracle.contract import qualified_name
from faultkit.oracle.trace import DecisionTrace, collect_traces, looks_like_trace, span_trace


class RaisedError(BaseModel):
    """An exception the target raised: its type, every class in its hierarchy, its message."""

    type: str
    bases: list[str]
    message: str
    traceback: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException, *, with_traceback: bool = True) -> RaisedError:
        bases = [qualified_name(c) for c in type(exc).__mro__ if c is not object]
        tb = "".join(traceback.format_exception(exc)) if with_traceback else None
        return cls(type=bases[0], bases=bases, message=str(exc), traceback=tb)


class Result(BaseModel):
    """One run of the target.

    ``value`` is what it returned (JSON-able), ``error`` what it raised; ``status`` is the HTTP
    status when the target is an HTTP endpoint. ``timed_out`` is set by a runner that gave up
    waiting. ``trace_key`` names the member of ``value`` that held the trace, so the oracle can
    leave the trace out when it searches the answer for leaked values.
    """

    value: Any = None
    error: RaisedError | None = None
    status: int | None = None
    duration_ms: float
    timed_out: bool = False
    trace: dict[str, Any] | None = None
    trace_key: str | None = None
    inputs: Any = None

    @classmethod
    def returned(
        cls,
        value: Any,
        duration_ms: float,
        *,
        trace: DecisionTrace | dict[str, Any] | None = None,
        status: int | None = None,
        inputs: Any = None,
        fallback_trace: dict[str, Any] | None = None,
    ) -> Result:
        """A result for a returned ``value``. A trace inside it (an ``(output, trace)`` pair, or
        a ``trace`` member) is found and recorded unless ``trace`` is given; with neither, the
        ``fallback_trace`` (what the run's OpenTelemetry spans say) is recorded."""
        value, found, key = split_trace(value)
        chosen = trace if trace is not None else found if found is not None else fallback_trace
        return cls(
            value=jsonable(value),
            status=status,
            duration_ms=duration_ms,
            trace=_trace_dict(chosen),
            trace_key=key,
            inputs=jsonable(inputs),
        )

    @classmethod
    def http_answer(cls, status: int, body: str, duration_ms: float) -> Result:
        """What an HTTP endpoint answered: its JSON body (the text when it is not JSON) and its
        status. ``faultkit run``'s HTTP targets and ``faultkit load``'s answers under load both
        go through here, so the oracle judges the same value from both."""
        try:
            value: Any = json.loads(body)
        except ValueError:
            value = body
        return cls.returned(value, duration_ms, status=status)

    @classmethod
    def raised(
        cls,
        exc: BaseException,
        duration_ms: float,
        *,
        trace: DecisionTrace | dict[str, Any] | None = None,
        inputs: Any = None,
    ) -> Result:
        return cls(
            error=RaisedError.from_exception(exc),
            duration_ms=duration_ms,
            trace=_trace_dict(trace),
            inputs=jsonable(inputs),
        )

    @property
    def answer(self) -> Any:
        """The returned value without its embedded trace: what the user would see."""
        if self.trace_key and isinstance(self.value, dict):
            return {k: v for k, v in self.value.items() if k != self.trace_key}
        return self.value


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


def _trace_dict(trace: Any) -> dict[str, Any] | None:
    if trace is None:
        return None
    if isinstance(trace, BaseModel):
        return trace.model_dump(mode="json")
    data = jsonable(trace)
    return data if isinstance(data, dict) else {"value": data}


def split_trace(value: Any) -> tuple[Any, Any, str | None]:
    """``(output, trace, trace_key)`` from what a target returned.

    Recognises an ``(output, trace)`` pair and a ``trace``/``decision_trace`` member of a model
    or mapping. The output keeps an embedded trace member (it may be part of the output model);
    ``trace_key`` says which member it was.
    """
    if isinstance(value, tuple) and len(value) == 2 and looks_like_trace(_plain(value[1])):
        return value[0], value[1], None
    data = _plain(value)
    if isinstance(data, dict):
        for key in ("trace", "decision_trace"):
            if key in data and looks_like_trace(data[key]):
                return value, data[key], key
    return value, None, None


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel) and not isinstance(value, DecisionTrace):
        return value.model_dump(mode="json")
    if isinstance(value, DecisionTrace):
        return value
    return value


def _monotonic_ms() -> float:
    return time.perf_counter() * 1000


def capture(
    fn: Callable[..., Any],
    *args: Any,
    clock: Callable[[], float] = _monotonic_ms,
    **kwargs: Any,
) -> Result:
    """Call ``fn(*args, **kwargs)`` and record what happened. ``clock`` returns milliseconds;
    pass the door's clock so result and ledger timings share an origin. Traces the target
    emits with :func:`~faultkit.oracle.trace.emit_trace` are collected (the last one wins over
    one found in the return value); with neither, the OpenTelemetry spans that ended during the
    call are the trace (:mod:`faultkit.otel.spans`). Enforcing a deadline is the runner's job
    (``timed_out``)."""
    inputs = _inputs(args, kwargs)
    with collect_traces() as emitted:
        start = clock()
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:
            trace = emitted[-1] if emitted else span_trace(emitted)
            return Result.raised(exc, clock() - start, trace=trace, inputs=inputs)
    trace = emitted[-1] if emitted else None
    return Result.returned(
        value, clock() - start, trace=trace, inputs=inputs, fallback_trace=span_trace(emitted)
    )


async def acapture(
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    clock: Callable[[], float] = _monotonic_ms,
    **kwargs: Any,
) -> Result:
    """:func:`capture` for a coroutine function."""
    inputs = _inputs(args, kwargs)
    with collect_traces() as emitted:
        start = clock()
        try:
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            trace = emitted[-1] if emitted else span_trace(emitted)
            return Result.raised(exc, clock() - start, trace=trace, inputs=inputs)
    trace = emitted[-1] if emitted else None
    return Result.returned(
        value, clock() - start, trace=trace, inputs=inputs, fallback_trace=span_trace(emitted)
    )


def _inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The call's arguments as data (objects without a JSON form are left out)."""
    plain = [a for a in args if _is_data(a)]
    named = {k: v for k, v in kwargs.items() if _is_data(v)}
    if not plain and not named:
        return None
    return jsonable({"args": plain, "kwargs": named} if named else plain)


def _is_data(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | tuple | dict | BaseModel)


__all__ = ["RaisedError", "Result", "acapture", "capture", "jsonable", "split_trace"]
