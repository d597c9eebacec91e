"""NEO-3DF part-based face editing: segment layout, shape model, controllers, blended edits, 2D alignment."""
