"""Signals of an instance's life that capability apps listen to (instances knows none of them)."""

from django.dispatch import Signal

# Sent inside the creating transaction, with ``instance``: an app that keeps per-instance
# rows (the files index root and trash) creates them here.
instance_created = Signal()
