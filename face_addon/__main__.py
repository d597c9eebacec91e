"""`python -m face_addon <subcommand> ...`: the same CLI as `blender -b -c face ...`, on the bpy module."""
import sys

from .cli.main import module_entry

sys.exit(module_entry(sys.argv[1:]))
