"""geometry for face_addon.core (filled by the capability issues)."""
