"""Local stand-ins for the push providers, so the stack runs and is tested without any accounts.

Each emulator speaks its provider's real wire protocol and refuses what the provider would refuse.
"""
