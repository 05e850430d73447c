"""``python -m infoshos.flows.cli``: the ``infoshos`` command, as the console script runs it."""

import sys

from infoshos.flows.cli import main

sys.exit(main())
