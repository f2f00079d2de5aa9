"""The embedded launcher (`make run`) and the test infrastructure."""
