"""The evaluation set and harness: `python -m eval` compares the chain with the LangChain tutorial pipeline."""
