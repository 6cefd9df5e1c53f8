"""Python client for adrnorm: MedDRA Preferred Term normalization of Chinese
adverse-drug-reaction mentions, over mutually authenticated TLS.

>>> from adrnorm_client import Client
>>> with Client(["localhost:7443", "localhost:7444"], ca="Certs/out/ca.pem",
...             cert="Certs/out/client-a.pem", key="Certs/out/client-a.key") as c:
...     for r in c.normalize_stream(["头晕", "恶心想吐"]):
...         print(r.id, r.pt_codes)

Results are the frozen dataclasses of :mod:`adrnorm_client.types`; failures
raise the :class:`RPCError` subclasses of :mod:`adrnorm_client.errors`.
"""

from .client import DEFAULT, Client, ServerState, _version

__version__ = _version()
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .types import *  # noqa: F401,F403
from .types import __all__ as _types_all

__all__ = ["Client", "DEFAULT", "ServerState", *_errors_all, *_types_all]
