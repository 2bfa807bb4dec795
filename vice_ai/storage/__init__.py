"""The data folder on disk: atomic files, padded journals, sidecar locks, the Store over them, app-wide meta files."""
