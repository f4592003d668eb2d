"""The Virtual MPP backend: HTTP API, websocket hub, persistence, officer console."""
