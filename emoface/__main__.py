"""`python -m emoface`: the emoface command."""

import sys

from emoface.cli import main

sys.exit(main())
