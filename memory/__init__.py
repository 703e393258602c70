"""Experience memory: trajectories, reflections, insights and concepts in SQLite, found through FAISS.

``Memory`` (``agentkit.memory.experience``) is the entry point; ``store`` (the source of truth), ``index`` (the
vector cache), ``embed``, ``records``, ``retrieve`` (prompt assembly) and ``distill`` (reflections, insight
operations, concepts) are its parts. Importing this package loads none of them (nor faiss or torch).
"""
