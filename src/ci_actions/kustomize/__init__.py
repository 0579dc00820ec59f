"""Set images in kustomizations, manifests and at setter markers, keeping every other byte."""

from ci_actions.kustomize.bump import PathsError, Plan, find_files, plan
from ci_actions.kustomize.setimage import ImageArgError, ImageSetting, parse_image_arg
from ci_actions.kustomize.spans import YamlFileError

__all__ = [
    "ImageArgError",
    "ImageSetting",
    "PathsError",
    "Plan",
    "YamlFileError",
    "find_files",
    "parse_image_arg",
    "plan",
]
