"""Training and evaluation entry points (no bpy); they read the dataset format of DESIGN §5."""
