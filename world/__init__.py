"""The Panda3D client: the 3D hall a citizen walks through.

It never imports ``server`` or ``assistant``; it speaks only ``protocol`` over
HTTP and the websocket.
"""
