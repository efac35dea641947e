"""Blind L0 deblurring oracles: readable NumPy/SciPy, float64, one function per algorithm step.

(A) J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring Text Images via L0-Regularized Intensity and
    Gradient Prior", CVPR 2014, doi:10.1109/CVPR.2014.371:

    .. math:: \\min_{x,k} \\|x \\ast k - y\\|^2 + \\gamma\\|k\\|^2
              + \\lambda(\\sigma\\|x\\|_0 + \\|\\nabla x\\|_0)

    -> :func:`deblur_text_l0` (:mod:`sharpvid.reference.deblur.text`).

(B) L. Xu, S. Zheng, J. Jia, "Unnatural L0 Sparse Representation for Natural Image Deblurring",
    CVPR 2013, doi:10.1109/CVPR.2013.147:

    .. math:: \\min_{x,k} \\|x \\ast k - y\\|^2 + \\lambda\\Phi_0(\\nabla x) + \\gamma\\|k\\|^2

    -> :func:`deblur_natural_l0` (:mod:`sharpvid.reference.deblur.natural`).

Both drivers take ``y`` of shape ``(H, W)`` or ``(C, H, W)`` (C = 1 or 3) in [0, 1] and an odd
``kernel_size``, and return ``(latent_image, kernel)``.  Steps live in :mod:`.fourier`,
:mod:`.boundary`, :mod:`.latent`, :mod:`.kernel`, :mod:`.pyramid`, :mod:`.nonblind`,
:mod:`.color`; scores in :mod:`.evaluate`.  The fast twin ``sharpvid.fast.deblur`` mirrors these
names. Unlike the rest of :mod:`reference` (pixels in [-1, 1]), images here are in [0, 1], as in the
authors' code.  See docs/deblur.md.
"""

from sharpvid.reference.deblur.boundary import solve_min_laplacian, wrap_boundary_liu, wrap_pad
from sharpvid.reference.deblur.color import rgb_to_luma
from sharpvid.reference.deblur.evaluate import (
    error_ratio,
    kernel_similarity,
    psnr,
    psnr_upto_shift,
    ssd_upto_shift,
)
from sharpvid.reference.deblur.fourier import (
    convolve_circular,
    grad_circ,
    grad_circ_adjoint,
    grad_otf_energy,
    opt_fft_size,
    otf2psf,
    psf2otf,
)
from sharpvid.reference.deblur.kernel import (
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
from sharpvid.reference.deblur.latent import (
    fft_data_terms,
    l0_deblur_whole,
    l0_restoration,
    solve_latent_fft,
    threshold_gradient,
    threshold_intensity,
    threshold_phi0,
    unnatural_l0_deblur,
)
from sharpvid.reference.deblur.natural import (
    blind_deconv_scale_natural,
    deblur_natural_l0,
    estimate_kernel_natural,
)
from sharpvid.reference.deblur.nonblind import (
    bilateral_filter,
    deblurring_adm_aniso,
    deconv_tv_l2,
    ringing_artifacts_removal,
    soft_threshold,
)
from sharpvid.reference.deblur.pyramid import (
    downsample_image,
    fix_kernel_size,
    init_kernel,
    resize_kernel,
    scale_schedule,
)
from sharpvid.reference.deblur.text import (blind_deconv_scale_text, deblur_text_l0,
                                            estimate_kernel_text)

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
