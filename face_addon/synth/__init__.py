"""Synthetic data generation with bpy + Cycles (the only bpy user besides face_addon.blender)."""
