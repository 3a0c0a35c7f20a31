"""Run by Unreal at editor start (every init_unreal.py on its Python paths, this plugin's Content/Python included):
adds Tools > emoface > "emoface: Import baked line...". A failure only warns: the editor must still start."""

import unreal

try:
    import emoface_import

    emoface_import.register_menu()
except Exception as exc:  # noqa: BLE001 - anything here would otherwise surface as a startup error
    unreal.log_warning(f"emoface: could not add the Tools menu entry ({type(exc).__name__}: {exc})")
