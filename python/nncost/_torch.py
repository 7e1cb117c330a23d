"""``nncost.profile``: a PyTorch module exported to ONNX in memory, then
analysed. torch is imported here only, when ``profile`` is called."""

from __future__ import annotations

import io
import time
import warnings
from typing import Any, Dict, Mapping, Optional

from ._nncost import NncostError
from ._report import Report, analyze

# Initializers with more elements than this are sent to the analysis
# without their bytes (dims and dtype are all it reads of a weight); small
# ones stay, since shape computations read them.
_KEEP_ELEMENTS = 1024


def _strip(proto: Any) -> bytes:
    """The model's bytes without the payload of its large initializers."""
    for t in proto.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if n > _KEEP_ELEMENTS:
            for name in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
                t.ClearField(name)
    return proto.SerializeToString()


def _export_dynamo(module, args, kwargs, dynamic_shapes) -> Any:
    import torch

    # Not optimized: the exporter's optimizer folds BatchNorm into the
    # convolutions, which would leave the module's BatchNorm parameters
    # out of the count (9,600 of ResNet-18's 11,689,512).
    program = torch.onnx.export(
        module,
        args,
        kwargs=kwargs,
        dynamo=True,
        dynamic_shapes=dynamic_shapes,
        optimize=False,
        verbose=False,
    )
    return program.model_proto


def _export_torchscript(module, args, kwargs) -> Any:
    import onnx
    import torch

    if kwargs:
        args = (*args, kwargs)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Asked for by name: its deprecation notice is no news.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, args, buffer, dynamo=False, opset_version=17)
    return onnx.load_from_string(buffer.getvalue())


def profile(
    module: Any,
    args: Any = (),
    kwargs: Optional[Mapping[str, Any]] = None,
    dynamic_shapes: Any = None,
    *,
    dims: Optional[Mapping[str, int]] = None,
    memory: bool = False,
    dtype: Optional[str] = None,
    hardware: Optional[str] = None,
    mode: str = "eval",
    convention: Optional[str] = None,
    exporter: str = "dynamo",
) -> Report:
    """Counts a PyTorch module on the given inputs.

    The module is exported with ``torch.onnx.export(dynamo=True)`` (with
    ``dynamic_shapes`` when given, so that counts stay symbolic), in memory:
    no file is written. If that export fails and no ``dynamic_shapes`` were
    asked for, the TorchScript exporter is tried (``exporter="torchscript"``
    asks for it directly). Nodes are mapped back to the module paths and
    classes they came from (``layer1.0.conv1``, ``Conv2d``). With
    ``mode="train"`` the report has the backward pass too, parameters with
    ``requires_grad=False`` left frozen. The report's ``export_seconds`` and
    ``analysis_seconds`` say where the time went.
    """
    try:
        import torch  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("nncost.profile needs PyTorch: pip install torch onnxscript") from e
    if not isinstance(args, tuple):
        args = (args,)
    kwargs = dict(kwargs or {})
    if exporter not in ("dynamo", "torchscript"):
        raise NncostError(f"exporter={exporter!r}: expected 'dynamo' or 'torchscript'")
    was_training = module.training
    module.eval()
    start = time.perf_counter()
    try:
        if exporter == "dynamo":
            try:
                proto = _export_dynamo(module, args, kwargs, dynamic_shapes)
            except Exception as e:
                if dynamic_shapes is not None:
                    raise NncostError(
                        f"the dynamo export of {type(module).__name__} failed "
                        f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                        "the TorchScript exporter cannot take dynamic_shapes"
                    ) from e
                proto = _export_torchscript(module, args, kwargs)
        else:
            proto = _export_torchscript(module, args, kwargs)
    finally:
        module.train(was_training)
    exported = time.perf_counter()
    data = _strip(proto)
    frozen = [name for name, p in module.named_parameters() if not p.requires_grad]
    report = analyze(
        data,
        dims=dims,
        memory=memory,
        dtype=dtype,
        hardware=hardware,
        mode=mode,
        frozen=frozen,
        convention=convention,
        name=f"<{type(module).__name__}>",
    )
    done = time.perf_counter()
    report.export_seconds = exported - start
    report.analysis_seconds = done - exported
    report._set_module_classes(_module_classes(module))
    return report


def _module_classes(module: Any) -> Dict[str, str]:
    return {name: type(m).__name__ for name, m in module.named_modules() if name}
