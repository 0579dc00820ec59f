"""Glob matching of repository paths and named path filters (pure)."""

from ci_actions.pathfilter.filters import PathFilter, classify, parse_filters
from ci_actions.pathfilter.globs import Glob, compile_glob

__all__ = ["Glob", "PathFilter", "classify", "compile_glob", "parse_filters"]
