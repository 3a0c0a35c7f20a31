"""Capture: face video -> landmarks -> curves (issue 12; landmarks first)."""
