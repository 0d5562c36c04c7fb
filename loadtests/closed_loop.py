"""A plain closed-loop Locust user, as most locustfiles are written.

Each user sends a request, waits for the answer, then paces itself to one request every
``PACING_S`` seconds (environment variable ``PACING_S``, default 0.1). When the target stalls,
the requests a user should have sent meanwhile are never sent, and Locust's own percentiles
hide the stall (coordinated omission). faultkit recognises ``constant_pacing`` /
``constant_throughput`` and back-fills the hidden samples (HdrHistogram's expected-interval
correction), so its corrected percentiles tell the truth; the raw ones, and Locust's, are
shown next to them::

    PACING_S=0.05 faultkit load http://127.0.0.1:8000/health --locustfile loadtests/closed_loop.py

Nothing here imports faultkit: any locustfile is measured the same way.
"""

import json
import os

from locust import FastHttpUser, constant_pacing, task

PACING_S = float(os.environ.get("PACING_S", "0.1"))


class ClosedLoop(FastHttpUser):
    wait_time = constant_pacing(PACING_S)

    def on_start(self) -> None:
        # The target URL's path, as faultkit load passes it (plain "/" under bare Locust).
        options = self.environment.parsed_options
        spec = json.loads(getattr(options, "faultkit_request", "") or "{}")
        self.path = spec.get("path") or "/"

    @task
    def get(self) -> None:
        self.client.get(self.path)
