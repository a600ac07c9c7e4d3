"""The shipped YAML configs (``configs/*.yaml``), installed as package data of ``spine3d.configs``.

:func:`spine3d.typed_yaml.config_path` resolves a config given by path or by its shipped name.
"""
