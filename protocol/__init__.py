"""The one wire schema shared by the world client and the server.

Nothing else is shared between them: both sides import only this package
to agree on frames, catalogue shapes and the NIK rules.
"""

# 2: presence ``changed`` entries are compact rows [id, x_cm, y_cm, heading_256].
PROTOCOL_VERSION = 2
# Clients that never join presence (the 2D page, the officer console) may still speak 1.
MIN_PROTOCOL_VERSION = 1
PRESENCE_PROTOCOL_VERSION = 2

__all__ = ["MIN_PROTOCOL_VERSION", "PRESENCE_PROTOCOL_VERSION", "PROTOCOL_VERSION"]
