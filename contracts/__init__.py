"""The messages Herald's services exchange, and the one catalog of topics that carry them.

Everything that crosses a service boundary is defined here; services import these models and the
catalog, never each other.
"""
