"""``python -m adrnorm_client``: see :mod:`adrnorm_client.cli`."""
import sys

from .cli import main

sys.exit(main())
