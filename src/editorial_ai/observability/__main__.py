"""``python -m editorial_ai.observability`` runs the ``editorial-ai-obs`` CLI."""

import sys

from .cli import main

sys.exit(main())
