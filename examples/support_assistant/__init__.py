"""An order-support assistant, written twice: ``robust`` and ``naive``.

Both answer "where is my order?" with the official ``openai`` SDK (a streamed chat completion
that calls the ``get_order`` tool, then a structured JSON answer) and an HTTP order service.
``faultkit run`` with no arguments runs the bundled scenario catalogue against both, from the
bundled cassettes. See README.md in this directory.
"""
