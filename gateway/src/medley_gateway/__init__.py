"""Medley gateway: the only public HTTP surface."""
