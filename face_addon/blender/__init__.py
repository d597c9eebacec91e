"""The Blender adapter: operators, panels, preferences, bpy<->numpy I/O, writers, CLI. No algorithms here."""
