"""Load testing under faults: Locust drives the app while its providers and tools misbehave.

``faultkit load`` (:mod:`.command`) starts the fault proxy for the app's upstreams (and the app,
with ``--app``), runs a fault-free baseline and each scenario with Locust against the app, and
reports true tail latency, errors, what was injected and the share of answers the contract
judges controlled; it exits 0 only when every ``--gate`` holds. Locust always runs in
subprocesses (its gevent patching must not reach this process); only :mod:`.locust_worker`
runs inside them. Importing this package, or any module here except ``locust_worker``, never
imports Locust or gevent.
"""
