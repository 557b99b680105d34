"""The online scoring service: FastAPI app, API keys and Prometheus metrics (imports nothing heavy here)."""
