"""The citizen-facing assistant: understanding, grounded answers and form dialogue.

A library the server calls off the event loop. It never imports ``server``;
the server hands it a :class:`assistant.ports.ServicePort`.
"""
