"""``make bench``: the whole pipeline under load, measured from ingest to the provider emulators."""
