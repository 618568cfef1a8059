"""Prints the greeting the check looks for."""

print("hello from shipshape")
