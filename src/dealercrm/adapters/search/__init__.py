"""Text search helpers shared by the SQL adapters (Chinese word segmentation)."""
