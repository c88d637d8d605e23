"""hazmat-checker: pre-loading inspection, permitted routes and live monitoring of hazmat trucks.

The shared core lives here (event models, city configuration, archive, command line); the
inspection rules are in the top-level ``rules`` package, the router in ``routing`` and the
Kafka processors in ``streams``.
"""

__version__ = "0.1.0"
