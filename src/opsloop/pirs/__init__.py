"""Post-incident reviews: what happened, why, and what changes, written after an incident is
resolved; and the compliance views that show which reviews and responses are late."""
