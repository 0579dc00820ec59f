"""Runner I/O: the only code that reads INPUT_*/GITHUB_* or writes runner files."""
