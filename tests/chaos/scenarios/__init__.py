"""One module per kind of fault; each scenario is an async function playing its fault on a run
(tests/chaos/harness.py) and recording what it found beyond the delivery count."""
