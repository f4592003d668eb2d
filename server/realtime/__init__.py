"""Websockets, the hub, presence, call signalling and the Redis bridge between nodes."""
