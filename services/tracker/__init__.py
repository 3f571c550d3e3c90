"""Tracker: keeps each notification's timeline from the steps every stage reports, and serves it."""
