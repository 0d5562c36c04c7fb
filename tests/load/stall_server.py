"""A loopback HTTP server that freezes once, for a known time: the ground truth for tail tests.

Like a process paused by a GC or SIGSTOP: every request that arrives during the freeze
``[t0 + freeze_at_s, t0 + freeze_at_s + freeze_s)`` (t0 = first request) is answered when the
freeze ends; every other request is answered at once. Under open-loop arrivals at rate λ, the
requests due during the freeze wait ``freeze_end - t``: latencies spread evenly over
``(0, freeze_s]``, ``λ · freeze_s`` of them. That is the truth a load tool must report.
It runs its own asyncio loop in a thread, so the pytest process stays free of gevent.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field


@dataclass
class StallServer:
    freeze_at_s: float = 3.0
    freeze_s: float = 1.0
    status: int = 200
    requests: int = 0
    first_at: float | None = None
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _freeze_end(self, now: float) -> float | None:
        if self.first_at is None or self.freeze_s <= 0:
            return None
        start = self.first_at + self.freeze_at_s
        end = start + self.freeze_s
        return end if start <= now < end else None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                now = time.monotonic()
                if self.first_at is None:
                    self.first_at = now
                self.requests += 1
                end = self._freeze_end(now)
                if end is not None:
                    await asyncio.sleep(end - now)
                body = b'{"ok": true}'
                writer.write(
                    b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                    % (self.status, len(body))
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> StallServer:
        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            )
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            loop.run_forever()
            server.close()
            # Requests still held by a freeze are cancelled, not left pending on a closed loop.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=serve, name="stall-server", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
