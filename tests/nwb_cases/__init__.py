"""NWB content for the NWB integration tests: every neurodata type pynwb offers, built deterministically."""
