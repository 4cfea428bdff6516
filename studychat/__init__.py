"""What the ingest and chat sides share: settings, types, the embedder and the store."""
