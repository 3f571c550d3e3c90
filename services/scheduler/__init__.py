"""Scheduler: decides when each user's notification goes out and releases it when due."""
