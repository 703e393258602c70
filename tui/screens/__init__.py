"""The terminal UI's screens: the chat, the history, pickers and the key list."""
