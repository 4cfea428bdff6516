"""Ingest: corpus files -> clean text -> sentence chunks -> embeddings in the store."""
