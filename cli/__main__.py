"""``python -m agentkit.cli``: the same as the ``agentkit`` command."""

import sys

from agentkit.cli.main import main

sys.exit(main())
