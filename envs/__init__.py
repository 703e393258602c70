"""Text environments (ALFWorld, WebShop, ScienceWorld, TextWorldExpress, Python tools) behind one protocol
(``base.py``), the evaluation harness (``eval.py``) and its reports (``report.py``)."""
