"""Thumbnails of images and PDFs, ``thumbs/<file_id>/<content_id>-<format>``."""
