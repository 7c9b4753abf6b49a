"""Arrival streams: base mentions, viral cascades and incidents, as NumPy arrays (no SimPy)."""
