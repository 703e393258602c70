"""Text-game environments (ALFWorld, WebShop, ScienceWorld, TextWorldExpress): see the environments issue.
Nothing here yet."""
