"""Pure numpy/scipy/torch algorithms. Never imports bpy, so everything here is testable without Blender."""
