"""A plain closed-loop Locust user, as most locustfiles are written.

Each user sends a request, waits for the answer, then paces itself to one request every
``PACING_S``. When the target stalls, the requests a user should have sent meanwhile are never
sent, and Locust's own percentiles hide the stall (coordinated omission). faultkit recognises
``constant_pacing`` / ``constant_throughput`` and back-fills the hidden samples (HdrHistogram's
expected-interval correction), so its corrected percentiles tell the truth; the raw ones, and
Locust's, are shown next to them. ``faultkit load --locustfile loadtests/closed_loop.py``.
"""

import os

from locust import FastHttpUser, constant_pacing, task

PACING_S = float(os.environ.get("FAULTKIT_PACING_S", "0.1"))


class ClosedLoop(FastHttpUser):
    wait_time = constant_pacing(PACING_S)

    @task
    def get(self) -> None:
        self.client.get(os.environ.get("FAULTKIT_PATH", "/"))
