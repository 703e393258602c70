"""The Textual terminal UI: a later issue. Nothing here yet."""
