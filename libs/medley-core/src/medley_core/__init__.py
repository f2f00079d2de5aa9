"""Medley's shared kernel: the mechanics every service uses, written once."""
