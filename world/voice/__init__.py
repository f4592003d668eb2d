"""Voice for guided mode: Indonesian/English speech normalising and espeak-ng synthesis.

Never imports server/assistant, and never imports panda3d at module level (the hall passes
its own AudioManager to ``play_with_panda``).
"""

from world.voice.normalize import normalize
from world.voice.tts import Voice, play_cli, play_with_panda

__all__ = ["Voice", "normalize", "play_cli", "play_with_panda"]
