"""The workbook as a static JupyterLite site: it runs in the browser, with no server.

``python -m mfwidgets lite --out DIR`` (needs the ``lite`` extra) writes the site (``build.py``)
with a verified local Pyodide (``pyodide.py``); ``serve.py`` serves it with the MIME types that
browsers require. docs/lite.md is the teacher's guide.
"""
