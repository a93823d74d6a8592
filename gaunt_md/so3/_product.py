r"""The Gaunt tensor product c_lm = ∫ f1 f2 Y_lm dΩ, with three interchangeable backends.

``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` are coefficient vectors in e3nn's real basis
(``normalization="integral"``); leading dimensions broadcast. The result has degree ≤ lmax_out.

- ``grid`` (the default): Gauss-Legendre × uniform samples multiplied pointwise (Xie et al., 2025),
  with separable transforms, fused and blocked with its backward written out (``_grid_product``).
- ``dense``: contraction with the Gaunt tensor (the reference; O(L^6)).
- ``fourier``: 2D Fourier series in (β, α), multiplied by FFT convolution (Luo et al., 2024);
  its transforms are research code (``experimental/_fourier.py``).

Measured in ``benchmarks/tensor_product.py`` (``docs/performance.md``, L = 1..10, CPU): ``grid`` is
faster than ``fourier`` at every L and than ``dense`` from L = 3; ``dense`` is faster at L ≤ 2.
"""

from __future__ import annotations

import functools

import torch

from ._checks import check_backend, check_input_degrees, check_operands, check_output_degree, operand_degrees
from ._gaunt_coefficients import gaunt_tensor, outer_rows
from ._grid_product import PRODUCT, GridBilinear, fused_broadcast
from .experimental._fourier import FromFourier, ToFourier, fourier_size

BACKENDS = ("grid", "fourier", "dense")


class GauntProduct(torch.nn.Module):
    """Module form of :func:`gaunt_product`: transform tensors are buffers, so ``.to()`` moves them.

    Buffers are float64 at construction; call ``.to(dtype)`` to match the inputs.
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, backend: str = "grid") -> None:
        super().__init__()
        check_backend(backend, BACKENDS)
        check_input_degrees(lmax1, lmax2)
        check_output_degree("lmax_out", lmax_out, lmax1, lmax2)
        self.lmax1, self.lmax2, self.lmax_out, self.backend = lmax1, lmax2, lmax_out, backend
        if backend == "grid":
            self.grid = GridBilinear({lmax1, lmax2, lmax_out}, lmax1 + lmax2 + lmax_out)
            self.spec = ((lmax1, lmax2), ((lmax_out, ((PRODUCT, 0, 1),)),))
        elif backend == "fourier":
            self.n = fourier_size(lmax1 + lmax2)
            self.to_fourier1 = ToFourier(lmax1, self.n)
            self.to_fourier2 = ToFourier(lmax2, self.n)
            self.from_fourier = FromFourier(lmax_out, self.n)
        else:
            g = gaunt_tensor(lmax1, lmax2, lmax_out)
            self.register_buffer("gaunt", g.reshape(-1, g.shape[-1]), persistent=False)

    def extra_repr(self) -> str:
        return f"lmax1={self.lmax1}, lmax2={self.lmax2}, lmax_out={self.lmax_out}, backend={self.backend!r}"

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        check_operands(self, x1, x2, "product")
        lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        if lead.numel() == 0:  # FFT libraries reject empty batches; keep the graph for autograd
            return x1.new_zeros(*lead, (self.lmax_out + 1) ** 2) + 0.0 * (x1.sum() + x2.sum())
        if self.backend == "grid":
            return fused_broadcast(self.spec, self.grid, x1, x2)[0]
        if self.backend == "fourier":
            s = (self.n, self.n)
            f1 = torch.fft.irfft2(self.to_fourier1(x1), s=s, norm="forward")
            f2 = torch.fft.irfft2(self.to_fourier2(x2), s=s, norm="forward")
            return self.from_fourier(torch.fft.rfft2(f1 * f2, norm="forward"))
        return outer_rows(x1, x2) @ self.gaunt


@functools.lru_cache(maxsize=64)
def _cached_product(
    lmax1: int, lmax2: int, lmax_out: int, backend: str, dtype: torch.dtype, device: torch.device
) -> GauntProduct:
    return GauntProduct(lmax1, lmax2, lmax_out, backend).to(device=device, dtype=dtype)


def gaunt_product(
    x1: torch.Tensor, x2: torch.Tensor, lmax_out: int | None = None, backend: str = "grid"
) -> torch.Tensor:
    """Gaunt product of ``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` → ``[..., (lmax_out+1)**2]``.

    ``lmax_out`` defaults to L1 + L2. Tables are built once per (degrees, backend, dtype, device).
    """
    lmax1, lmax2 = operand_degrees(x1, x2, backend, BACKENDS)
    return _cached_product(lmax1, lmax2, lmax1 + lmax2 if lmax_out is None else lmax_out, backend, x1.dtype, x1.device)(
        x1, x2
    )
