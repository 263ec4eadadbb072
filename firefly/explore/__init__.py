"""Exploration: real calls to real tools along sampled DAGs, every call and result recorded."""
