"""The training side of the field's methods: each method's loss and, for JoMoLD, its stages.

The networks live in ``linkpaper.models``; ``linkpaper.models.registry`` binds a network, its
loss, its recipe and its stages under one name.
"""
