"""emoface: audio-driven emotional facial animation for game engines."""

__version__ = "0.1.0"

from emoface.animation import Animation  # noqa: E402
from emoface.errors import EmofaceError, InputError  # noqa: E402

__all__ = ["Animation", "EmofaceError", "InputError", "__version__"]
