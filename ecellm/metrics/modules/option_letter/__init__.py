"""Folder of an `evaluate` module (see its README.md); a package only so that it ships in wheels."""
