"""``python -m tulip_echo``: see :mod:`tulip_echo.cli`."""

import sys

from .cli import main

sys.exit(main())
