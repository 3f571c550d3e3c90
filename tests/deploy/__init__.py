"""Offline checks of deploy/: the compose file, the rendered Kubernetes overlays and KEDA objects
against their published schemas, and Herald's own rules for them (``python -m tests.deploy``)."""
