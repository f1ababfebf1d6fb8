"""``nas report``: placeholder replaced below."""


def register(sub) -> None:
    pass
