"""Answering: reads the store, never writes it. question -> passages -> cited answer."""
