"""Backup and restore of a controller: k0s's archive format, plus a manifest of checksums.

`create.py` takes a backup of the running controller, `verify.py` checks an archive without touching the
node, `restore.py` verifies and then restores offline. Archives are the ones k0s writes (same name, same
member names), so k0s restores a k0spy backup and k0spy restores a k0s backup; k0spy adds one member,
`k0spy-backup-manifest.json`, that k0s ignores.
"""
