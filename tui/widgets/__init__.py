"""The terminal UI's widgets: the composer, chat turns, the reasoning panel, the recalled-memory panel and the
usage bar."""
