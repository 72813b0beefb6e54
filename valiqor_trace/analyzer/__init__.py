"""The analyzer: rebuild FA items from traces, run Failure Analysis, store runs.

Internal package: users reach it through ``valiqor_trace.ValiqorClient`` and the ``valiqor`` CLI.
"""
