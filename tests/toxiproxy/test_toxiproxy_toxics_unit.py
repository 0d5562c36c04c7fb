"""Toxics driven directly through a stage (no sockets): piece counts, interrupts, clamping."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from faultkit.doors.toxiproxy.link import Channel, Stage
from faultkit.doors.toxiproxy.spec import ToxicSpec
from faultkit.doors.toxiproxy.toxics import EOF, TCP_TOXICS, Chunk
from faultkit.doors.toxiproxy.toxics.latency import Latency
from faultkit.doors.toxiproxy.toxics.limit_data import LimitData
from faultkit.doors.toxiproxy.toxics.slicer import Slicer


def stage_for(toxic, toxicity: float = 1.0) -> tuple[Stage, Channel]:  # type: ignore[no-untyped-def]
    spec = ToxicSpec("t", toxic.type_name, "downstream", toxicity, toxic.attributes(), toxic)
    stage = Stage(spec, Channel(spec.buffer_size), random.Random(1))
    out = Channel(10_000)
    stage.output = out
    stage.run()
    return stage, out


def drain(channel: Channel) -> list:
    items = []
    while (item := channel.pop()) is not None:
        items.append(item)
        if item is EOF:
            break
    return items


async def settle(predicate, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


async def test_slicer_cuts_a_large_chunk_into_240_to_720_pieces() -> None:
    stage, out = stage_for(Slicer(average_size=1024, size_variation=512, delay=10))
    data = bytes(i % 256 for i in range(480_000))
    stage.input.push(Chunk(data, 0.0))
    stage.input.push(EOF)
    await settle(lambda: stage.closed)
    items = drain(out)
    assert items[-1] is EOF
    pieces = [c.data for c in items[:-1]]
    assert b"".join(pieces) == data
    assert 240 <= len(pieces) <= 720


async def test_slicer_average_one_gives_single_bytes() -> None:
    stage, out = stage_for(Slicer(average_size=1, size_variation=0, delay=0))
    stage.input.push(Chunk(b"x" * 24, 0.0))
    stage.input.push(EOF)
    await settle(lambda: stage.closed)
    assert [len(c.data) for c in drain(out)[:-1]] == [1] * 24


@pytest.mark.parametrize(("average", "variation"), [(0, 0), (-5, 3), (10, 10), (10, 50)])
def test_slicer_clamps_values_that_crash_toxiproxy(average: int, variation: int) -> None:
    cuts = Slicer(average_size=average, size_variation=variation).cuts(5000, random.Random(3))
    assert cuts[0][0] == 0 and cuts[-1][1] == 5000
    assert all(start < end for start, end in cuts)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))


async def test_interrupted_latency_sends_its_chunk_without_the_rest_of_the_delay() -> None:
    stage, out = stage_for(Latency(latency=10_000))
    stage.input.push(Chunk(b"held", asyncio.get_running_loop().time()))
    await asyncio.sleep(0.02)
    assert drain(out) == []
    started = asyncio.get_running_loop().time()
    assert await stage.interrupt()
    assert asyncio.get_running_loop().time() - started < 0.5
    assert [c.data for c in drain(out)] == [b"held"]


async def test_limit_data_state_survives_a_restart() -> None:
    stage, out = stage_for(LimitData(bytes=10))
    stage.input.push(Chunk(b"123456", 0.0))
    await settle(lambda: len(out._items) == 1)
    assert await stage.interrupt()
    stage.run()
    stage.input.push(Chunk(b"789abc", 0.0))
    await settle(lambda: stage.closed)
    assert [i.data if i is not EOF else EOF for i in drain(out)] == [b"123456", b"789a", EOF]


async def test_toxicity_zero_makes_a_pass_through() -> None:
    stage, out = stage_for(TCP_TOXICS["timeout"](timeout=0), toxicity=0.0)
    stage.input.push(Chunk(b"kept", 0.0))
    await settle(lambda: len(out._items) == 1)
    assert drain(out)[0].data == b"kept"
    await stage.interrupt()


def test_every_registered_toxic_has_integer_attributes() -> None:
    for name, cls in TCP_TOXICS.items():
        assert cls.type_name == name
        assert all(isinstance(v, int) for v in cls().attributes().values())
