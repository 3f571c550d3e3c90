"""One folder per push platform: provider.py (the only module that talks to the provider's send
API), payload.py (pure rendering) and classify.py (pure, table-driven reply classification)."""
