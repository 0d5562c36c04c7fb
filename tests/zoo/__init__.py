"""The zoo: small LLM apps written from scratch, each with one planted reliability bug (and one
correct app), that prove faultkit judges apps it has never seen. See README.md."""
