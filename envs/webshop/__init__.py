"""WebShop: an adapter that shops on a WebShop site over HTTP, and a small fixture site of its own.

``adapter.WebShop`` plays the official WebShop web app (or anything serving its pages); ``server`` is this
project's own small catalog and instructions behind the same routes and page structure, with ``scorer``
following the official reward definition; tests start it on 127.0.0.1. ``official`` runs the official app from
a checkout on a catalogue folder (``catalog.Catalog.export`` writes the built-in one), to check all of this
against it.
"""
