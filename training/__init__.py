"""Command-line tools: train, evaluate, classify, serve."""
