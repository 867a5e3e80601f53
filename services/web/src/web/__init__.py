"""The web UI: server-rendered pages over the gateway's public API."""
