r"""The Gaunt tensor product c_lm = ∫ f1 f2 Y_lm dΩ, with three interchangeable backends.

``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` are coefficient vectors in e3nn's real basis
(``normalization="integral"``); leading dimensions broadcast. The result has degree ≤ lmax_out.

- ``dense``: contraction with the Gaunt tensor (the reference; O(L^6)).
- ``fourier``: 2D Fourier series in (β, α), multiplied by FFT convolution (Luo et al., 2024).
- ``grid``: Gauss-Legendre × uniform samples multiplied pointwise (Xie et al., 2025), with
  separable transforms, fused and blocked with its backward written out (``_grid_product``); the
  fastest, and the default.
"""

from __future__ import annotations

import functools

import torch

from ._degrees import check_same_kind, lmax_of
from ._fourier import FromFourier, ToFourier, fourier_size
from ._gaunt_coefficients import gaunt_tensor
from ._grid_product import PRODUCT, GridBilinear, fused

BACKENDS = ("grid", "fourier", "dense")


class GauntProduct(torch.nn.Module):
    """Module form of :func:`gaunt_product`: transform tensors are buffers, so ``.to()`` moves them.

    Buffers are float64 at construction; call ``.to(dtype)`` to match the inputs.
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int, backend: str = "grid") -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(BACKENDS)}")
        if min(lmax1, lmax2) < 0:
            raise ValueError(f"input degrees must be ≥ 0, got {lmax1} and {lmax2}")
        if not 0 <= lmax_out <= lmax1 + lmax2:
            raise ValueError(f"lmax_out must be in [0, L1+L2] = [0, {lmax1 + lmax2}], got {lmax_out}")
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
        check_same_kind(("x1", x1), ("x2", x2))
        for name, x, lmax in (("x1", x1, self.lmax1), ("x2", x2, self.lmax2)):
            if lmax_of(x, name) != lmax:
                raise ValueError(f"{name} has degree {lmax_of(x, name)} but this product was built for {lmax}")
        buffer = next(iter(self.buffers()))
        if buffer.device != x1.device or (buffer.dtype.is_floating_point and buffer.dtype != x1.dtype):
            raise TypeError(
                f"inputs are {x1.dtype} on {x1.device} but the product's tables are {buffer.dtype} on "
                f"{buffer.device}; call .to(device, dtype) on the module"
            )
        lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        n_out = (self.lmax_out + 1) ** 2
        if lead.numel() == 0:  # FFT libraries reject empty batches; keep the graph for autograd
            return x1.new_zeros(*lead, n_out) + 0.0 * (x1.sum() + x2.sum())
        if self.backend == "grid":
            a = x1.expand(*lead, x1.shape[-1]).reshape(lead.numel(), x1.shape[-1])
            b = x2.expand(*lead, x2.shape[-1]).reshape(lead.numel(), x2.shape[-1])
            return fused(self.spec, self.grid, a, b)[0].view(*lead, n_out)
        if self.backend == "fourier":
            s = (self.n, self.n)
            f1 = torch.fft.irfft2(self.to_fourier1(x1), s=s, norm="forward")
            f2 = torch.fft.irfft2(self.to_fourier2(x2), s=s, norm="forward")
            return self.from_fourier(torch.fft.rfft2(f1 * f2, norm="forward"))
        x1, x2 = torch.broadcast_tensors(x1[..., :, None], x2[..., None, :])
        outer = x1 * x2
        return outer.reshape(*outer.shape[:-2], -1) @ self.gaunt


@functools.lru_cache(maxsize=64)
def _cached_product(lmax1: int, lmax2: int, lmax_out: int, backend: str, dtype: torch.dtype, device: torch.device) -> GauntProduct:
    return GauntProduct(lmax1, lmax2, lmax_out, backend).to(device=device, dtype=dtype)


def gaunt_product(x1: torch.Tensor, x2: torch.Tensor, lmax_out: int | None = None, backend: str = "grid") -> torch.Tensor:
    """Gaunt product of ``x1: [..., (L1+1)**2]`` and ``x2: [..., (L2+1)**2]`` → ``[..., (lmax_out+1)**2]``.

    ``lmax_out`` defaults to L1 + L2. Tables are built once per (degrees, backend, dtype, device).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends are {', '.join(BACKENDS)}")
    check_same_kind(("x1", x1), ("x2", x2))
    lmax1, lmax2 = lmax_of(x1, "x1"), lmax_of(x2, "x2")
    if lmax_out is None:
        lmax_out = lmax1 + lmax2
    if not 0 <= lmax_out <= lmax1 + lmax2:
        raise ValueError(f"lmax_out must be in [0, L1+L2] = [0, {lmax1 + lmax2}], got {lmax_out}")
    return _cached_product(lmax1, lmax2, lmax_out, backend, x1.dtype, x1.device)(x1, x2)
