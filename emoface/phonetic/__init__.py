"""The phonetic engine: timed phonemes (pocketsphinx) -> visemes with coarticulation -> canonical curves."""
