"""Instrumentors for LLM libraries; ``valiqor_trace.init()`` picks them up automatically.

Internal package: users call ``valiqor_trace.init(instrument=...)``.
"""
