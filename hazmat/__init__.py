"""hazmat-checker: pre-loading inspection, permitted routes and live monitoring of hazmat trucks.

One import name for everything: the shared core lives here (event models, city
configuration, archive, flows, command line); the repository's ``rules/``, ``routing/``,
``streams/``, ``monitor/``, ``api/`` and ``config/`` folders install as ``hazmat.rules``,
``hazmat.routing``, ``hazmat.streams``, ``hazmat.monitor``, ``hazmat.api`` and ``hazmat.config``
(setuptools ``package-dir`` in pyproject.toml).
"""

__version__ = "0.1.0"
