"""Load testing under faults: Locust through the fault proxy, true tail latency, SLO gates.

``faultkit load`` (:mod:`.command`) runs a fault-free baseline and each scenario through the
fault proxy with Locust, and exits 0 only when every ``--gate`` holds. Locust always runs in
subprocesses (its gevent patching must not reach this process); only :mod:`.locust_worker`
runs inside them. Importing this package, or any module here except ``locust_worker``, never
imports Locust or gevent.
"""
