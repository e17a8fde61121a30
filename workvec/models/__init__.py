"""Bundles shipped inside the package (see each folder's README.md, its model card)."""
