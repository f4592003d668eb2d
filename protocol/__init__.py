"""The one wire schema shared by the world client and the server.

Nothing else is shared between them: both sides import only this package
to agree on frames, catalogue shapes and the NIK rules.
"""

PROTOCOL_VERSION = 1

__all__ = ["PROTOCOL_VERSION"]
