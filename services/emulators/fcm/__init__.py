"""An FCM HTTP v1 emulator: Google's OAuth2 token endpoint plus ``messages:send``.

It verifies service-account JWTs and validates messages the way Google does, records what it
accepts for people and tests to inspect, and can play dead tokens and outages on request.
"""
