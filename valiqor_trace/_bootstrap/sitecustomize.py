"""Started by ``valiqor run`` (its directory is put first on ``PYTHONPATH``): tracing on in every Python process.

Python imports ``sitecustomize`` at startup, before the program; ``init()`` reads the settings ``valiqor run``
put in the environment (``VALIQOR_*``). Children inherit ``PYTHONPATH``, so a process the program starts is
traced too, as with ``opentelemetry-instrument``.
"""

try:
    import valiqor_trace
except ImportError:  # an interpreter without valiqor-trace (another venv's python): the program runs untraced
    pass
else:
    valiqor_trace.init()  # flushes at exit (atexit)
