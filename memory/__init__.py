"""Experience memory (SQLite store + FAISS index): see the experience-memory issue. Nothing here yet."""
