"""Portable kernels: the defaults apply only where unset, and this test process (like every
workflow job) computes with them."""

from __future__ import annotations

import platform

import pytest
from threadpoolctl import threadpool_info

from livermet.numerics import (
    PORTABLE_KERNELS,
    describe_kernels,
    portable_kernels_apply,
    use_portable_kernels,
)

X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not X86, reason="the portable kernels are x86-64 settings")
def test_defaults_fill_only_unset_variables():
    environ = {"OPENBLAS_CORETYPE": "SkylakeX"}
    use_portable_kernels(environ, cpu_flags={"sse4_2", "avx", "avx2", "avx512f"})
    assert environ["OPENBLAS_CORETYPE"] == "SkylakeX"  # the user's choice stands
    assert environ["NPY_DISABLE_CPU_FEATURES"] == PORTABLE_KERNELS["NPY_DISABLE_CPU_FEATURES"]


@pytest.mark.skipif(not X86, reason="the portable kernels are x86-64 settings")
def test_a_cpu_without_avx2_keeps_its_native_kernels():
    # forcing OpenBLAS's Haswell kernels there would end the job with an illegal instruction
    environ = {}
    use_portable_kernels(environ, cpu_flags={"sse4_2", "avx"})
    assert environ == {}


@pytest.mark.skipif(
    not portable_kernels_apply(), reason="the portable kernels need an x86-64 CPU with AVX2"
)
def test_this_process_computes_with_the_avx2_kernels():
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["architecture"] == "Haswell" for pool in blas), blas
    assert "Haswell kernels" in describe_kernels()
    from numpy._core._multiarray_umath import __cpu_features__

    assert not any(__cpu_features__.get(feature) for feature in ("X86_V4", "AVX512_ICL"))
