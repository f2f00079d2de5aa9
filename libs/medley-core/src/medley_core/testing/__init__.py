"""Helpers for the tests of every package (never imported by production code)."""
