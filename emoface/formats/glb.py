"""glTF binary: a blendshape head with the animation as morph-target weights, for Blender, three.js and engines.

Unlike the curve formats this carries a mesh: the built-in head unless the caller passes one. Reading gives back
the weights, and the head's and eyes' turns where the file animates them (livelink rig; else arkit); curves the mesh
has no shape for are not recovered.
The render modules (and pygltflib) are imported inside the functions so that importing emoface.formats stays cheap.
"""

from __future__ import annotations

from emoface.animation import Animation

NAME, SUFFIX, RIG = "glb", ".glb", "livelink"  # takes the canonical curves (morph weights and head rotation)
CARRIES = "arkit"  # what the file holds, and what a bake reports: the head's ARKit morph targets


def write(anim: Animation, path, mesh=None) -> None:
    from emoface.render import drive
    from emoface.render.gltf import write_glb

    if mesh is None:
        from emoface.render.default_head import default_head
        mesh = default_head()
    write_glb(mesh, drive.mesh_motion(anim, mesh.shape_names), path,
              sources={k: anim.metadata[k] for k in ("source", "source_abs") if k in anim.metadata})


def read(path) -> Animation:
    from emoface.render.gltf import read_glb

    return read_glb(path)
