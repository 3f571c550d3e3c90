"""Ingest: the front door for send requests, over HTTP and from the submitted topic."""
