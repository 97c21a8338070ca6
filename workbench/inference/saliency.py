"""Where an image classifier looked: Grad-CAM on its last Conv2d, else input gradients.

Grad-CAM (Selvaraju et al.) weighs the last convolution's feature maps by the mean
gradient of the class score over each map, keeps the positive part and scales it to the
input's H x W. A network without a Conv2d node gets the absolute input gradient, the
largest over channels. Both need the PyTorch module (gradients), not an exported file.
The compiled module names its submodules after node ids, so the hook goes on a node.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["last_conv_node", "saliency_map"]


def last_conv_node(graph, order: list[str]) -> str | None:
    """The last Conv2d node in forward order, or None."""
    convs = {n.id for n in graph if n.type == "Conv2d"}
    found = [node_id for node_id in order if node_id in convs]
    return found[-1] if found else None


def saliency_map(module: torch.nn.Module, input_name: str, x: torch.Tensor, class_index: int,
                 conv_node: str | None) -> np.ndarray:
    """H x W float array in [0, 1] for one preprocessed image x [C, H, W]."""
    x = x.detach().float().unsqueeze(0).requires_grad_(conv_node is None)
    captured: dict = {}
    handle = None
    if conv_node is not None:
        def keep(_module, _inputs, output):
            output.retain_grad()
            captured["maps"] = output

        handle = module.get_submodule(conv_node).register_forward_hook(keep)
    try:
        with torch.enable_grad():
            out = module(**{input_name: x})
            out = out[0] if isinstance(out, (tuple, list)) else out
            module.zero_grad(set_to_none=True)
            out.reshape(1, -1)[0, class_index].backward()
    finally:
        if handle is not None:
            handle.remove()
    if conv_node is not None:
        maps, grads = captured["maps"], captured["maps"].grad
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * maps).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
    else:
        cam = x.grad[0].abs().amax(dim=0)
    cam = cam.detach().to(torch.float64)
    top = float(cam.max())
    cam = cam / top if top > 0 else torch.zeros_like(cam)
    return cam.clamp(0.0, 1.0).numpy()
