"""Fast twin of :mod:`sharpvid.reference.deblur`: batched blind L0 deblurring on NumPy (CPU) or CuPy
(GPU).

(A) Pan, Hu, Su & Yang, CVPR 2014 -> :func:`deblur_text_l0`; (B) Xu, Zheng & Jia, CVPR 2013 ->
:func:`deblur_natural_l0`.  Same names, arguments, defaults and results as the oracle; the
differences, common to every function:

- one code path written against the NumPy API: the array module is the input's
  (:func:`sharpvid.fast._xp.array_module`), ``scipy.fft``/``scipy.ndimage`` on NumPy and
  ``cupy.fft``/ ``cupyx.scipy.ndimage`` on CuPy; torch tensors cross over by DLPack
  (:func:`sharpvid.fast._xp.from_torch`) without a host copy;
- batched: images ``(B, C, H, W)`` and kernels ``(B, K, K)``; the oracle's ``(H, W)`` /
  ``(C, H, W)`` are accepted and give the oracle's shapes back;
- float32 by default, float64 when the input is float64 (to check the twin against the oracle);
- real FFTs, with every FFT of a fixed operand computed once per solve;
- every per-image decision (thresholds, λ schedules, CG stopping, pruning, centring) is
  vectorised over the batch with masks, so a batch gives the per-image results stacked.
"""

from sharpvid.fast.deblur.boundary import solve_min_laplacian, wrap_boundary_liu, wrap_pad
from sharpvid.fast.deblur.color import rgb_to_luma
from sharpvid.fast.deblur.evaluate import (
    error_ratio,
    kernel_similarity,
    psnr,
    psnr_upto_shift,
    ssd_upto_shift,
)
from sharpvid.fast.deblur.fourier import (
    convolve_circular,
    grad_circ,
    grad_circ_adjoint,
    grad_otf_energy,
    opt_fft_size,
    otf2psf,
    psf2otf,
)
from sharpvid.fast.deblur.kernel import (
    adjust_psf_center,
    conjugate_gradient,
    delta_kernel,
    estimate_psf_cg,
    estimate_psf_fft,
    estimate_threshold,
    normalize_kernel,
    prune_kernel,
    threshold_kernel,
    threshold_pxpy,
    valid_gradients,
)
from sharpvid.fast.deblur.latent import (
    fft_data_terms,
    l0_deblur_whole,
    l0_restoration,
    solve_latent_fft,
    threshold_gradient,
    threshold_intensity,
    threshold_phi0,
    unnatural_l0_deblur,
)
from sharpvid.fast.deblur.natural import (
    blind_deconv_scale_natural,
    deblur_natural_l0,
    estimate_kernel_natural,
)
from sharpvid.fast.deblur.nonblind import (
    bilateral_filter,
    deblurring_adm_aniso,
    deconv_tv_l2,
    ringing_artifacts_removal,
    soft_threshold,
)
from sharpvid.fast.deblur.pyramid import (
    downsample_image,
    fix_kernel_size,
    init_kernel,
    resize_kernel,
    scale_schedule,
)
from sharpvid.fast.deblur.text import blind_deconv_scale_text, deblur_text_l0, estimate_kernel_text

__all__ = [
    # drivers
    "deblur_text_l0", "estimate_kernel_text", "blind_deconv_scale_text",
    "deblur_natural_l0", "estimate_kernel_natural", "blind_deconv_scale_natural",
    # fourier
    "psf2otf", "otf2psf", "opt_fft_size", "grad_circ", "grad_circ_adjoint", "grad_otf_energy",
    "convolve_circular",
    # boundary
    "solve_min_laplacian", "wrap_boundary_liu", "wrap_pad",
    # latent
    "threshold_intensity", "threshold_gradient", "threshold_phi0", "fft_data_terms",
    "solve_latent_fft", "l0_deblur_whole", "l0_restoration", "unnatural_l0_deblur",
    # kernel
    "delta_kernel", "normalize_kernel", "valid_gradients", "estimate_threshold", "threshold_pxpy",
    "conjugate_gradient", "estimate_psf_cg", "estimate_psf_fft", "prune_kernel",
    "adjust_psf_center", "threshold_kernel",
    # pyramid
    "scale_schedule", "downsample_image", "init_kernel", "fix_kernel_size", "resize_kernel",
    # nonblind
    "soft_threshold", "deblurring_adm_aniso", "deconv_tv_l2", "bilateral_filter",
    "ringing_artifacts_removal",
    # colour, scores
    "rgb_to_luma", "kernel_similarity", "ssd_upto_shift", "error_ratio", "psnr", "psnr_upto_shift",
]
