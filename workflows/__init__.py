"""Reasoning workflows as LangGraph graphs built from reusable nodes (``nodes.py``)."""
