"""The fault suite: the whole stack under one fault at a time (crashes, outages, throttling, poison,
races), each delivery counted at the provider emulators. ``python -m tests.chaos`` runs it and
prints what was sent, delivered, lost and repeated; ``make chaos`` and ``make chaos-short`` call it.
"""
