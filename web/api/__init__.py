"""The JSON API: health, the current user, campaigns and reports."""
