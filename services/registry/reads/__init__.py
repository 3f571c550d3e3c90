"""Reads and badge sync: devices report what the user read; badge changes come back as one quiet
sync push to each of the user's other devices."""
