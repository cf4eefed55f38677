"""Rectification (整改): the problems an inspection found followed until they are put right."""
