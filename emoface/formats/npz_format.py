"""NumPy .npz: compact, exact float32 values for training pipelines and tools.

Written member by member with a fixed zip timestamp so the same animation gives the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from emoface.animation import Animation
from emoface.errors import InputError

NAME, SUFFIX, RIG = "npz", ".npz", None
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write(anim: Animation, path) -> None:
    arrays = {"values": anim.values, "names": np.array(anim.names), "fps": np.float64(anim.fps),
              "rig": np.array(anim.rig), "metadata": np.array(json.dumps(anim.metadata, sort_keys=True))}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue())


def read(path) -> Animation:
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle and suggest loading it unsafely
        raise InputError(path, "not a .npz archive (no zip structure)")
    with np.load(path, allow_pickle=False) as z:  # fps as stored: formats.read checks it (and makes it a float)
        return Animation(tuple(str(n) for n in z["names"]), z["fps"][()], z["values"], str(z["rig"]),
                         json.loads(str(z["metadata"])))
