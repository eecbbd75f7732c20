"""Reading and writing Keras 3 ``.keras`` archives (see ``keras3_format`` for the layout and
``saving`` for which format ``model.save`` picks)."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from typing import Any

from lstmkit.keras.models import keras3_config, keras3_format, keras3_optimizer


def _tensor_shapes(model: Any) -> dict[tuple, Any]:
    """``(layer, node, index)`` -> symbolic shape, for Keras' ``__keras_tensor__`` entries."""
    graph = getattr(model, "_graph", None)
    shapes: dict[tuple, Any] = {}
    if graph is None:
        return shapes
    for t in list(graph.inputs) + [o for node in graph.nodes for o in node.outputs]:
        try:
            shapes[tuple(graph.tensor_ref(t))] = list(t.shape)
        except (AttributeError, KeyError, TypeError):
            continue
    return shapes


def keras_config(model: Any) -> dict[str, Any]:
    """The model's Keras 3 ``config.json`` entry; raises ``NotKerasCompatible`` (saying why) when
    Keras 3 could not rebuild it."""
    from lstmkit.keras.engine.registry import serialize

    try:
        data = serialize(model)
    except NotImplementedError as e:
        raise keras3_config.NotKerasCompatible(str(e)) from None
    graph = getattr(model, "_graph", None)
    build = [list(t.shape) for t in graph.inputs] if graph is not None else None
    out = keras3_config.model_to_keras(data, f"model {model.name!r}", shapes=_tensor_shapes(model),
                                       build_shape=build[0] if build and len(build) == 1 else build)
    for _, layer in keras3_format.layer_groups(model):  # a layer whose weights Keras would place elsewhere
        try:
            keras3_format.weight_paths(layer)
        except ValueError as e:
            raise keras3_config.NotKerasCompatible(f"layer {layer.name!r}: {e}") from None
    return out


def keras_archive(model: Any, lstmkit_members: dict[str, bytes], compile_config: Any,
                  include_optimizer: bool = True) -> bytes | None:
    """Keras 3's ``.keras`` zip for the model (with lstmkit's compile arguments and optimizer state
    as extra members Keras ignores, and, with ``include_optimizer``, the optimizer state as Keras'
    ``optimizer/vars`` too), or None when Keras 3 could not read the model (a warning says why)."""
    try:
        config = keras_config(model)
    except keras3_config.NotKerasCompatible as e:
        warnings.warn(f"model {model.name!r} is saved in lstmkit's own format, which Keras 3 cannot load: {e}",
                      stacklevel=4)
        return None
    config["compile_config"] = keras3_format.keras_compile_config(model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", keras3_format.metadata_json(), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("config.json", json.dumps(config), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("model.weights.h5", keras3_format.h5_bytes(
            model, optimizer=include_optimizer and config["compile_config"] is not None))
        if compile_config is not None:
            zf.writestr("lstmkit.json", json.dumps({"compile_config": compile_config}),
                        compress_type=zipfile.ZIP_DEFLATED)
        for name, data in lstmkit_members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def is_keras_archive(files: dict[str, bytes]) -> bool:
    return "model.weights.h5" in files or "metadata.json" in files


def load_keras_archive(path: str, files: dict[str, bytes], custom_objects: dict[str, Any] | None,
                       compile: bool, restore_lstmkit_compile: Any) -> Any:
    """Rebuild a model from a Keras 3 archive (written by Keras or by lstmkit)."""
    from lstmkit.keras.engine.registry import custom_object_scope, deserialize

    for member in ("config.json", "model.weights.h5"):
        if member not in files:
            raise ValueError(f"{path!r} is not a complete Keras 3 model file: the archive has no {member}")
    try:
        config = json.loads(files["config.json"])
    except ValueError as e:
        raise ValueError(f"{path!r} has a corrupt config.json: {e}") from None
    if not keras3_config.is_keras3_object(config):
        raise ValueError(f"{path!r}: config.json is not a Keras 3 model config")
    ours = keras3_config.from_keras(config)
    with custom_object_scope(custom_objects):
        model = deserialize("layer", ours)
    if not model.built and isinstance((config.get("build_config") or {}).get("input_shape"), list):
        model.build(tuple(config["build_config"]["input_shape"]))
    keras3_format.load_h5(model, files["model.weights.h5"], f"{path!r} (model.weights.h5)")
    if compile:
        lstmkit_cc = None
        if "lstmkit.json" in files:
            try:
                lstmkit_cc = json.loads(files["lstmkit.json"]).get("compile_config")
            except (ValueError, AttributeError) as e:
                raise ValueError(f"{path!r} has a corrupt lstmkit.json: {e}") from None
        if lstmkit_cc:
            restore_lstmkit_compile(model, lstmkit_cc, files, path, custom_objects)
        elif isinstance(config.get("compile_config"), dict):
            keras3_format.restore_keras_compile(model, config["compile_config"], path)
            if getattr(model, "optimizer", None) is not None:  # Keras' optimizer/vars (lstmkit's use optimizer.json)
                keras3_optimizer.load_vars(model, files["model.weights.h5"], f"{path!r} (model.weights.h5)")
    return model
