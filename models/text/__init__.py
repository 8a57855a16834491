"""Text channels: per-day features of the headlines other than events (LSA words, MiniLM
sentences, VADER sentiment), for the evaluation's ablations."""
