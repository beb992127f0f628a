"""Test content built only from hdmf, pynwb and numpy, so that the same code runs in our environment and
in the peer's (Python 3.11 too). Each case returns a fresh root container with deterministic values."""
