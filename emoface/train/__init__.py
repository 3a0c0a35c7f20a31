"""Training the network: a data engine (silver labels, real capture, emotion targets) and the loop."""
