"""Instance deletion: a resumable Celery job that removes every byte of one instance."""
