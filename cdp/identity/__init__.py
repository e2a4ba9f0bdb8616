"""Identity resolution: tuples → Splink scoring → clusters → persistent CustomerIDs."""
