"""Default locustfile of ``faultkit load``: open-loop arrivals at the target.

Locust's ``--host`` is the app itself (its upstreams pass the fault proxy), or, with
``--faults-at front``, the proxy's door in front of it.
Each user sends ``--rate / --users`` arrivals per second on a fixed schedule and latency is
measured from each arrival's intended start (see :class:`faultkit.load.locust_worker.OpenLoopUser`):
a stall delays the requests due during it instead of hiding them.

Copy this file to write your own: override ``send`` to build the request an arrival makes
(one request per arrival), and pass it with ``faultkit load --locustfile``.
"""

from faultkit.load.locust_worker import OpenLoopUser, request_spec


class ThroughProxy(OpenLoopUser):
    """One request per arrival: the target URL's path, with ``--method/--header/--body`` or
    the ``--cases`` inputs as JSON bodies."""

    def send(self) -> None:
        spec = request_spec(self.environment)
        self.client.request(
            spec.method,
            spec.path,
            data=spec.body_for(self.arrival),  # the cases' inputs in turn, or --body
            headers=spec.headers,
            name=spec.name,
        )
