"""The bundled city configurations (``cities/<name>/``), installed as ``hazmat.config``.

Read-only templates once installed: ``hazmat config init DIR --from NAME`` copies one into a
folder of the operator's. The code finds them with :mod:`importlib.resources`, never by a path
relative to the checkout.
"""
