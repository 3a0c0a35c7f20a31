"""A stand-in for Unreal's `unreal` module: only the API emoface_import.py uses, recording every call.

Names and parameters mirror the UE 5.3 Python API (AnimationLibrary, AnimationDataController, AssetTools,
AssetImportTask, EditorAssetLibrary, LevelSequence + sequencer extensions, ToolMenus, EditorDialog). Anything
not written here raises AttributeError, and wrong argument types raise TypeError where Unreal would refuse
them too (an int for a FrameNumber, a float for a frame), so the script cannot lean on an API that is not real.
Fakes hold what a test asserts on: curves {name: [(time, value)]}, frame rate, frames, tracks, sounds.
Helpers for tests start with an underscore (`_reset`, `_add_asset`); they are not Unreal API.
"""

import os
import wave
from typing import ClassVar

calls = []  # (api name, args) in call order
logs = []  # (level, message)
assets = {}  # package path (/Game/x/name) -> fake asset
_selected = []  # what EditorUtilityLibrary.get_selected_assets returns


def _call(name, *args):
    calls.append((name, args))


def _reset():
    calls.clear()
    logs.clear()
    assets.clear()
    _selected.clear()
    ToolMenus._singleton = None
    AssetToolsHelpers._tools = None


def _package(path):
    """'/Game/x/a.a' or '/Game/x/a' -> '/Game/x/a' (load_asset takes either)."""
    return str(path).split(".")[0]


def _add_asset(path, obj):
    """Put an asset where load_asset finds it (a test's Skeleton, say)."""
    obj._path = _package(path)
    assets[obj._path] = obj
    return obj


def log(arg):
    logs.append(("log", str(arg)))


def log_warning(arg):
    logs.append(("warning", str(arg)))


def log_error(arg):
    logs.append(("error", str(arg)))


class _Enum:
    def __init__(self, owner, name, value):
        self._owner, self.name, self.value = owner, name, value

    def __repr__(self):
        return f"{self._owner}.{self.name}"


def _enum(cls, **values):
    for k, v in values.items():
        setattr(cls, k, _Enum(cls.__name__, k, v))
    return cls


class RawCurveTrackTypes:
    pass


class AppMsgType:
    pass


class AppReturnType:
    pass


class MultiBlockType:
    pass


class ToolMenuStringCommandType:
    pass


class ToolMenuInsertType:
    pass


_enum(RawCurveTrackTypes, RCT_FLOAT=0, RCT_VECTOR=1, RCT_TRANSFORM=2)
_enum(AppMsgType, OK=0, YES_NO=1, OK_CANCEL=2)
_enum(AppReturnType, NO=0, YES=1, OK=3, CANCEL=4)
_enum(MultiBlockType, NONE=0, BUTTON_ROW=1, EDITABLE_TEXT=2, HEADING=3, MENU_ENTRY=4, SEPARATOR=5)
_enum(ToolMenuStringCommandType, COMMAND=0, PYTHON=1, CUSTOM=2)
_enum(ToolMenuInsertType, DEFAULT=0, BEFORE=1, AFTER=2, FIRST=3)


class FrameRate:
    def __init__(self, numerator=0, denominator=0):
        if not isinstance(numerator, int) or not isinstance(denominator, int):
            raise TypeError("FrameRate takes int32 numerator and denominator")
        self.numerator, self.denominator = numerator, denominator

    def __eq__(self, other):
        return isinstance(other, FrameRate) and (self.numerator, self.denominator) == (other.numerator,
                                                                                       other.denominator)

    def __repr__(self):
        return f"FrameRate({self.numerator}, {self.denominator})"


class FrameNumber:
    def __init__(self, value=0):
        if not isinstance(value, int):
            raise TypeError("FrameNumber takes an int32")
        self.value = value


class Object:
    """UObject: editor properties only by the names the real class has."""

    _properties: ClassVar[dict] = {}

    def __init__(self, outer=None, name="None"):
        self._values = dict(self._properties)
        self._path = None

    def _check(self, name):
        if name not in self._values:
            raise Exception(f"{type(self).__name__}: Failed to find property '{name}'")  # noqa: TRY002 - as Unreal

    def get_editor_property(self, name):
        self._check(name)
        return self._values[name]

    def set_editor_property(self, name, value, notify_mode=None):
        self._check(name)
        self._values[name] = value

    def get_name(self):
        return (self._path or "None").rsplit("/", 1)[-1]

    def get_path_name(self):
        return f"{self._path}.{self.get_name()}" if self._path else "None"


class Skeleton(Object):
    pass


class SoundBase(Object):
    pass


class SoundWave(SoundBase):
    _properties: ClassVar[dict] = {"duration": 0.0}


class AnimationAsset(Object):
    pass


class AnimSequenceBase(AnimationAsset):
    pass


class AnimSequence(AnimSequenceBase):
    _properties: ClassVar[dict] = {"skeleton": None, "controller": None}

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self.curves = {}  # name -> [(time, value)]
        self.frame_rate = None
        self.number_of_frames = None
        self.saved = False
        self._values["controller"] = AnimationDataController(self)


class AnimationDataController:
    """IAnimationDataController as Python sees it (anim.get_editor_property('controller'))."""

    def __init__(self, anim):
        self._anim = anim
        self.depth = 0  # open brackets
        self._pending_frames = None

    def open_bracket(self, description, should_transact=True):
        _call("AnimationDataController.open_bracket", description, should_transact)
        self.depth += 1

    def close_bracket(self, should_transact=True):
        _call("AnimationDataController.close_bracket", should_transact)
        if self.depth == 0:
            raise RuntimeError("close_bracket without open_bracket")
        self.depth -= 1
        if self.depth == 0 and self._pending_frames is not None:  # the frame count applies once closed
            self._anim.number_of_frames, self._pending_frames = self._pending_frames, None

    def set_frame_rate(self, frame_rate, should_transact=True):
        _call("AnimationDataController.set_frame_rate", frame_rate, should_transact)
        if not isinstance(frame_rate, FrameRate):
            raise TypeError("set_frame_rate takes a FrameRate")
        self._anim.frame_rate = frame_rate

    def set_number_of_frames(self, length, should_transact=True):
        _call("AnimationDataController.set_number_of_frames", length, should_transact)
        if not isinstance(length, FrameNumber):
            raise TypeError("set_number_of_frames takes a FrameNumber, not an int")
        if self.depth:
            self._pending_frames = length.value
        else:
            self._anim.number_of_frames = length.value


class AnimationLibrary:
    @classmethod
    def does_curve_exist(cls, animation_sequence_base, curve_name, curve_type):
        _call("AnimationLibrary.does_curve_exist", animation_sequence_base, curve_name, curve_type)
        return curve_type is RawCurveTrackTypes.RCT_FLOAT and str(curve_name) in animation_sequence_base.curves

    @classmethod
    def add_curve(cls, animation_sequence_base, curve_name, curve_type=RawCurveTrackTypes.RCT_FLOAT,
                  meta_data_curve=False):
        _call("AnimationLibrary.add_curve", animation_sequence_base, curve_name, curve_type, meta_data_curve)
        if curve_type is not RawCurveTrackTypes.RCT_FLOAT:
            raise NotImplementedError("the stand-in holds float curves only")
        if str(curve_name) in animation_sequence_base.curves:
            raise ValueError(f"curve {curve_name} already exists")
        animation_sequence_base.curves[str(curve_name)] = []

    @classmethod
    def add_float_curve_keys(cls, animation_sequence_base, curve_name, times, values):
        _call("AnimationLibrary.add_float_curve_keys", animation_sequence_base, curve_name, len(times))
        curve = animation_sequence_base.curves.get(str(curve_name))
        if curve is None:
            raise ValueError(f"curve {curve_name} does not exist (add_curve first)")
        if len(times) != len(values):
            raise ValueError("times and values differ in length")
        curve.extend((float(t), float(v)) for t, v in zip(times, values))

    @classmethod
    def remove_all_curve_data(cls, animation_sequence_base):
        _call("AnimationLibrary.remove_all_curve_data", animation_sequence_base)
        animation_sequence_base.curves.clear()


class Factory(Object):
    pass


class AnimSequenceFactory(Factory):
    _properties: ClassVar[dict] = {"target_skeleton": None, "preview_skeletal_mesh": None}


class LevelSequenceFactoryNew(Factory):
    pass


class AssetImportTask(Object):
    _properties: ClassVar[dict] = {"filename": "", "destination_path": "", "destination_name": "", "automated": False,
                   "replace_existing": False, "replace_existing_settings": False, "save": False,
                   "async_": False, "factory": None, "options": None, "imported_object_paths": [],
                   "result": []}


class AssetTools:
    def create_asset(self, asset_name, package_path, asset_class, factory, calling_context="None"):
        _call("AssetTools.create_asset", asset_name, package_path, asset_class, factory)
        path = f"{package_path}/{asset_name}"
        if path in assets:
            log_error(f"create_asset: {path} already exists")
            return None
        if isinstance(factory, AnimSequenceFactory):
            if asset_class is not AnimSequence or not isinstance(factory.get_editor_property("target_skeleton"),
                                                                 Skeleton):
                raise ValueError("AnimSequenceFactory needs asset_class AnimSequence and a target_skeleton")
            obj = AnimSequence()
            obj.set_editor_property("skeleton", factory.get_editor_property("target_skeleton"))
        elif isinstance(factory, LevelSequenceFactoryNew):
            if asset_class is not LevelSequence:
                raise ValueError("LevelSequenceFactoryNew makes LevelSequence assets")
            obj = LevelSequence()
        else:
            raise NotImplementedError(f"the stand-in has no factory {type(factory).__name__}")
        return _add_asset(path, obj)

    def import_asset_tasks(self, import_tasks):
        _call("AssetTools.import_asset_tasks", list(import_tasks))
        for task in import_tasks:
            filename = task.get_editor_property("filename")
            if not os.path.isfile(filename) or not filename.lower().endswith(".wav"):
                log_error(f"import: cannot import {filename}")
                continue
            name = task.get_editor_property("destination_name") or os.path.splitext(os.path.basename(filename))[0]
            path = f"{task.get_editor_property('destination_path')}/{name}"
            if path in assets and not task.get_editor_property("replace_existing"):
                continue
            sound = assets.get(path) if isinstance(assets.get(path), SoundWave) else SoundWave()
            with wave.open(filename) as w:
                sound.set_editor_property("duration", w.getnframes() / w.getframerate())
            sound.source_file = filename
            _add_asset(path, sound)
            task.set_editor_property("imported_object_paths", [sound.get_path_name()])


class AssetToolsHelpers:
    _tools = None

    @classmethod
    def get_asset_tools(cls):
        if cls._tools is None:
            cls._tools = AssetTools()
        return cls._tools


class EditorAssetLibrary:
    @classmethod
    def does_asset_exist(cls, asset_path):
        _call("EditorAssetLibrary.does_asset_exist", asset_path)
        return _package(asset_path) in assets

    @classmethod
    def load_asset(cls, asset_path):
        _call("EditorAssetLibrary.load_asset", asset_path)
        return assets.get(_package(asset_path))

    @classmethod
    def save_loaded_asset(cls, asset_to_save, only_if_is_dirty=True):
        _call("EditorAssetLibrary.save_loaded_asset", asset_to_save, only_if_is_dirty)
        asset_to_save.saved = True
        return True


def load_asset(name, outer=None):
    _call("load_asset", name)
    return assets.get(_package(name))


class EditorUtilityLibrary:
    @classmethod
    def get_selected_assets(cls):
        _call("EditorUtilityLibrary.get_selected_assets")
        return list(_selected)


class MovieSceneSection(Object):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self.range = None

    def set_range(self, start_frame, end_frame):
        """MovieSceneSectionExtensions.set_range: int32 frames in the sequence's display rate."""
        _call("MovieSceneSection.set_range", start_frame, end_frame)
        if not isinstance(start_frame, int) or not isinstance(end_frame, int):
            raise TypeError("set_range takes int32 frames")
        self.range = (start_frame, end_frame)

    def get_start_frame(self):
        return self.range[0]

    def get_end_frame(self):
        return self.range[1]


class MovieSceneAudioSection(MovieSceneSection):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self.sound = None

    def set_sound(self, sound):
        _call("MovieSceneAudioSection.set_sound", sound)
        if not isinstance(sound, SoundBase):
            raise TypeError("set_sound takes a SoundBase")
        self.sound = sound

    def get_sound(self):
        return self.sound


class MovieSceneTrack(Object):
    _section_class = MovieSceneSection

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self.sections = []

    def add_section(self):
        _call("MovieSceneTrack.add_section")
        self.sections.append(self._section_class())
        return self.sections[-1]

    def get_sections(self):
        return list(self.sections)


class MovieSceneAudioTrack(MovieSceneTrack):
    _section_class = MovieSceneAudioSection


class MovieSceneSequence(Object):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self.display_rate = None
        self.playback_start = self.playback_end = None
        self.tracks = []
        self.saved = False

    def set_display_rate(self, display_rate):
        _call("LevelSequence.set_display_rate", display_rate)
        if not isinstance(display_rate, FrameRate):
            raise TypeError("set_display_rate takes a FrameRate")
        self.display_rate = display_rate

    def get_display_rate(self):
        return self.display_rate

    def set_playback_start(self, start_frame):
        _call("LevelSequence.set_playback_start", start_frame)
        if not isinstance(start_frame, int):
            raise TypeError("set_playback_start takes an int32 frame")
        self.playback_start = start_frame

    def set_playback_end(self, end_frame):
        _call("LevelSequence.set_playback_end", end_frame)
        if not isinstance(end_frame, int):
            raise TypeError("set_playback_end takes an int32 frame")
        self.playback_end = end_frame

    def add_track(self, track_type):
        _call("LevelSequence.add_track", track_type)
        if not (isinstance(track_type, type) and issubclass(track_type, MovieSceneTrack)):
            raise TypeError("add_track takes a MovieSceneTrack class")
        self.tracks.append(track_type())
        return self.tracks[-1]

    def find_tracks_by_type(self, track_type):
        _call("LevelSequence.find_tracks_by_type", track_type)
        return [t for t in self.tracks if isinstance(t, track_type)]

    def get_tracks(self):
        return list(self.tracks)


class LevelSequence(MovieSceneSequence):
    pass


class ToolMenuEntry:
    _fields = ("name", "owner", "type", "user_interface_action_type", "tutorial_highlight_name",
               "insert_position", "should_close_window_after_menu_selection", "script_object",
               "style_name_override")

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(self._fields)
        if unknown:
            raise TypeError(f"ToolMenuEntry has no field {sorted(unknown)}")
        self.name = kwargs.get("name", "None")
        self.type = kwargs.get("type", MultiBlockType.NONE)
        self.label = self.tool_tip = None
        self.string_command = None

    def set_label(self, label):
        self.label = str(label)

    def get_label(self):
        return self.label

    def set_tool_tip(self, tool_tip):
        self.tool_tip = str(tool_tip)

    def set_string_command(self, type, custom_type, string):  # Unreal's parameter names
        if not isinstance(type, _Enum) or type._owner != "ToolMenuStringCommandType":
            raise TypeError("set_string_command takes a ToolMenuStringCommandType")
        self.string_command = (type, str(custom_type), string)


class ToolMenu(Object):
    def __init__(self, name):
        super().__init__()
        self.menu_name = name
        self.sections = {}  # section name -> {"label": ..., "entries": {entry name: entry}}

    def add_section(self, section_name, label="", insert_name="None", insert_type=ToolMenuInsertType.DEFAULT):
        _call("ToolMenu.add_section", section_name, label)
        self.sections.setdefault(section_name, {"label": None, "entries": {}})["label"] = str(label)

    def add_menu_entry(self, section_name, args):
        _call("ToolMenu.add_menu_entry", section_name, args)
        if not isinstance(args, ToolMenuEntry):
            raise TypeError("add_menu_entry takes a ToolMenuEntry")
        section = self.sections.setdefault(section_name, {"label": None, "entries": {}})
        section["entries"][args.name] = args  # same name: replaced, as Unreal does


class ToolMenus(Object):
    _singleton = None

    def __init__(self):
        super().__init__()
        self.menus = {}

    @classmethod
    def get(cls):
        if cls._singleton is None:
            cls._singleton = ToolMenus()
        return cls._singleton

    def find_menu(self, name):
        return self.menus.get(name)

    def extend_menu(self, name):
        _call("ToolMenus.extend_menu", name)
        return self.menus.setdefault(name, ToolMenu(name))

    def refresh_all_widgets(self):
        _call("ToolMenus.refresh_all_widgets")


class EditorDialog:
    @classmethod
    def show_message(cls, title, message, message_type, default_value=AppReturnType.NO):
        _call("EditorDialog.show_message", str(title), str(message), message_type)
        return AppReturnType.OK
