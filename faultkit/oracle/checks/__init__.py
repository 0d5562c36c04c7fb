"""One module per family of findings. Each exposes ``check(ctx) -> list[Finding]``; the judge
runs them all, so a run that both retried too often and leaked a value shows both."""
