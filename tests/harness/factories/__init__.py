"""State a test starts from, built through each service's own functions instead of HTTP.

One module per service, each function one use case in one transaction, with the events it
records in the outbox, as the route or handler would: ``planning`` (plans, submitted and
approved), ``tasks`` (a plan known from planning's event, the §3 WBS), ``approvals`` (requests
filed and decided), ``alerts`` (default and own rules, alerts raised by a judged snapshot) and
``metrics`` (sources with their secret, mappings, signed facts ingested, plan targets). Another
service's event is applied through the receiving service's handlers (``events.handled``).
tests/shared/test_harness.py checks that what each builds reads back over HTTP as the API's own.
"""
