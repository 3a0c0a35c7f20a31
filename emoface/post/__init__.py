"""Post-processors on canonical animations, rig-independent and seeded: smoothing, head, gaze, blinks."""
