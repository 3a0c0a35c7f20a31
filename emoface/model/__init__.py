"""The network: speech encoder (log-mel, bounded look-ahead) + emotion encoder (FiLM) -> canonical curves."""
