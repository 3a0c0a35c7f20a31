"""Previews: a blendshape head rendered offscreen to MP4 with the audio, curve plots and glTF export."""
