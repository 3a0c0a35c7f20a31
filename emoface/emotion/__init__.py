"""Emotion: which emotions, how strongly, when (spec), and what they do to the face (layer)."""

from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion, load_emotion_track

__all__ = ["EMOTIONS", "EmotionTrack", "parse_emotion", "load_emotion_track"]
