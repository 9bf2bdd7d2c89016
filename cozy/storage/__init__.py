"""The storage layer inside cozy: the registry of storage areas, and access to them.

Capability apps store bytes only through an area's store (an ``S3Storage``
bound to the area's bucket and prefix); nothing under ``cozy/`` but this
package and ``vfs_s3`` talks to the object store.
"""
