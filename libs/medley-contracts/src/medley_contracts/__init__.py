"""Medley's published language: event envelopes, payloads and subjects."""
