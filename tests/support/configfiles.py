"""Read one modprobe.d or TOML file by its format, for tests and fuzz
harnesses (the product reads any config file through config.loader, which
picks the format itself)."""

from softbond.config.modprobe import parse_modprobe
from softbond.config.textfile import read_text
from softbond.config.toml_config import parse_toml


def load_modprobe(path: str):
    return parse_modprobe(read_text(path), path)


def load_toml(path: str):
    return parse_toml(read_text(path), path)
