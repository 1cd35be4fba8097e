"""Seatwise: self-hosted subscription and licence billing for software sold per seat."""
