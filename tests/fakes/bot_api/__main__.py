from __future__ import annotations

import sys

from tests.fakes.bot_api.cli import main

sys.exit(main())
