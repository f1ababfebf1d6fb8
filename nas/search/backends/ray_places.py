"""``--ray-address`` and ``--ray-storage``: their syntax checked before anything is written, without Ray.

A bad value used to fail only inside Ray -- ``ray.init`` or Tune's storage --
after the search folder and its trial log had been written. What Ray accepts
(Ray 2.x, ``ray.init``'s docstring and ``ray._private.services``):

- address: ``auto`` (join the cluster this machine belongs to, else fail),
  ``local`` (start a new local Ray), ``HOST:PORT`` (the head node's GCS, port
  6379 by default) or ``ray://HOST:PORT`` (Ray Client, port 10001 by default).
  Any other ``scheme://`` makes ``ray.init`` look for a client module of that
  name; ``http://`` is the dashboard's address, which Ray itself refuses.
- storage (Tune's ``RunConfig.storage_path``, opened with
  ``pyarrow.fs.FileSystem.from_uri``): a local folder, which pyarrow takes only
  as an absolute path (``local_storage`` makes it one), or a URI of a file
  system pyarrow knows (``STORAGE_SCHEMES``).

Whether the cluster answers or the bucket exists is found only by Ray.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from nas.text import control_char
from nas.errors import NasError
from nas.fsutil import existing_place

STORAGE_SCHEMES = ("file", "s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss")   # pyarrow.fs.FileSystem.from_uri
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.S)
ADDRESS_HELP = ("give auto (the cluster this machine belongs to), local (a new Ray here), HOST:PORT (the head "
                "node, e.g. 10.0.0.5:6379) or ray://HOST:PORT (Ray Client, e.g. ray://head:10001)")


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 80 else f"{value[:80]!r}... ({len(value)} characters)"


def _no_control(flag: str, value: str) -> None:
    where = control_char(value)
    if where:
        raise NasError(f"{flag} {_shown(value)}: holds a control character ({where}; a newline, tab or escape "
                       f"pasted with the value?)")


def _host_port_error(text: str) -> str | None:
    """Why ``text`` is not HOST:PORT (a host name, an IPv4 address or ``[IPv6]``; a port 1..65535), or None."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        return "no HOST:PORT"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"port {port[:20]!r} is not a number in 1..65535"
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
            return None
        except ValueError:
            return f"{host[:60]} is not an IPv6 address"
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        return f"host {host[:60]!r} is not a host name or IP address"
    return None


def check_ray_address(value: str) -> None:
    """Refuse an address ``ray.init`` cannot mean, naming ``--ray-address``."""
    _no_control("--ray-address", value)
    if value in ("auto", "local"):
        return
    m = _SCHEME.fullmatch(value)
    if m and m.group(1).lower() in ("http", "https"):
        why = "that is a dashboard's address, not the cluster's"
    elif m and m.group(1) != "ray":
        why = f"Ray joins a cluster by ray:// only, not {m.group(1)[:20]}://"
    else:
        why = _host_port_error(m.group(2) if m else value)
    if why:
        raise NasError(f"--ray-address {_shown(value)}: {why}; {ADDRESS_HELP}")


def check_ray_storage(value: str) -> None:
    """Refuse a storage place Tune cannot open, naming ``--ray-storage``: an unknown URI scheme, a URI with
    nothing after it, a control character (``gs://b`` and a newline: pyarrow's "Cannot parse URI" traceback after
    the search folder was written), or a local folder that cannot be one (under a file, an existing file, too
    long)."""
    _no_control("--ray-storage", value)
    m = _SCHEME.fullmatch(value)
    if m:
        scheme, rest = m.group(1).lower(), m.group(2)
        if scheme not in STORAGE_SCHEMES:
            raise NasError(f"--ray-storage {_shown(value)}: Tune stores on a local folder or a URI of "
                           f"{', '.join(s + '://' for s in STORAGE_SCHEMES)}, not {scheme[:20]}://")
        if scheme == "file" and not rest.startswith("/"):
            raise NasError(f"--ray-storage {_shown(value)}: a file:// URI names an absolute path (file:///...)")
        if not rest.strip("/"):
            raise NasError(f"--ray-storage {_shown(value)}: names no bucket or folder after {scheme}://")
        return
    path = local_storage(value)
    try:
        place = existing_place(path)
        if path.exists() and not path.is_dir():
            raise NasError(f"--ray-storage {_shown(value)}: is a file, not a folder")
        if place.exists() and not place.is_dir():
            raise NasError(f"--ray-storage {_shown(value)}: cannot be a folder: {place} is a file")
    except OSError as e:                          # a name too long for the file system, ...
        raise NasError(f"--ray-storage {_shown(value)}: not a usable folder ({e.strerror or e})") from None


def local_storage(value: str) -> Path:
    """A local ``--ray-storage`` folder as the absolute path pyarrow needs (``~`` and a relative path are
    taken from here: a relative one failed inside Tune, "URI has empty scheme")."""
    return Path(value).expanduser().absolute()


def storage_path(value: str) -> str:
    """What to hand Tune as ``storage_path``: a URI unchanged (``Path`` would fold ``s3://b`` into
    ``s3:/b``), a local folder made absolute."""
    return value if _SCHEME.fullmatch(value) else str(local_storage(value))


def is_local(value: str) -> bool:
    return _SCHEME.fullmatch(value) is None
