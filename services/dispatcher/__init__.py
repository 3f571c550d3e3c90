"""Dispatcher: sends per-device pushes to one provider (APNs, FCM or Web Push) and reports outcomes.

One codebase deployed once per platform; ``HERALD_DISPATCHER_PLATFORM`` picks the provider.
"""
