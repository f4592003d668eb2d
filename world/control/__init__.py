"""The hall client's controllers, one per seam of what a visitor does: chat, forms, tickets, presence.

Each owns its state, subscribes on the client's :class:`~world.control.bus.Bus` to the frames
and REST answers it handles, and draws through the client's engine. The client only composes
them; a screen (``world.screens``) calls into them and never the other way round.
"""

from world.control.bus import Bus, HttpAnswer

__all__ = ["Bus", "HttpAnswer"]
