"""nncost: exact parameters, MACs, FLOPs, memory and roofline time of a
neural network, layer by layer, module by module and in total.

>>> import nncost
>>> report = nncost.analyze("resnet50.onnx", dims={"batch": 1})
>>> report.params, report.macs
(25557032, 4089184256)
>>> print(report)                 # the table, as the command line prints it

``nncost.profile(module, args)`` does the same for a PyTorch module (it is
exported to ONNX in memory first). Counts with free symbols are
:class:`Expr` objects: ``report.flops.evaluate(batch=8)``.
"""

from ._nncost import NncostError, __version__
from ._report import Expr, Node, Report, analyze
from ._torch import profile

__all__ = ["analyze", "profile", "Report", "Node", "Expr", "NncostError", "__version__"]
