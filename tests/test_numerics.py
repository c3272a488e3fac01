"""Portable kernels: the defaults apply only where unset, and this test process (like every
workflow job) computes with them. umap's numba kernels: compiled once, loaded by later jobs."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from livermet.numerics import (
    PORTABLE_KERNELS,
    _exclusive_lock,
    describe_kernels,
    portable_kernels_apply,
    use_portable_kernels,
    use_shared_numba_cache,
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


def test_the_numba_cache_is_one_per_user_unless_the_user_names_one():
    environ = {"HOME": "/home/ana"}
    use_shared_numba_cache(environ)
    assert environ["NUMBA_CACHE_DIR"] == "/home/ana/.cache/livermet/numba"
    environ = {"HOME": "/home/ana", "XDG_CACHE_HOME": "/scratch/ana/cache"}
    use_shared_numba_cache(environ)
    assert environ["NUMBA_CACHE_DIR"] == "/scratch/ana/cache/livermet/numba"
    environ = {"HOME": "/home/ana", "NUMBA_CACHE_DIR": "/tmp/mine"}
    use_shared_numba_cache(environ)
    assert environ["NUMBA_CACHE_DIR"] == "/tmp/mine"  # the user's choice stands


def test_an_unwritable_cache_is_used_without_its_lock(tmp_path, caplog):
    # a cache directory below a file cannot be made: the job goes on (numba then compiles
    # without caching) and says so in its log
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with _exclusive_lock(str(not_a_directory / "numba")):
        pass
    assert "numba cache lock not taken" in caplog.text


def test_this_process_caches_its_kernels_where_the_workflows_jobs_do():
    # tests/conftest.py sets it before numba loads, as the workflow does for its jobs: kernels
    # compiled by a unit test are loaded by the demo run's jobs and the other way round (set
    # after numba loads, numba would keep caching beside each library's source)
    import numba

    assert os.environ["NUMBA_CACHE_DIR"]
    assert numba.config.CACHE_DIR == os.environ["NUMBA_CACHE_DIR"]


# A fresh process imports umap as the graph-building jobs do (with NUMBA_CACHE_DIR set, that also
# builds a small graph and layout under the cache's lock) and reports numba's cache hits for
# umap's fuzzy-set kernel (as sc.pp.neighbors uses it) and a pynndescent distance.
UMAP_JOB = """
import json
from livermet.numerics import import_umap_with_cached_kernels
import_umap_with_cached_kernels()
import numba
import pynndescent.distances
from umap.umap_ import smooth_knn_dist
print(json.dumps({
    "fuzzy-set kernel": len(smooth_knn_dist.stats.cache_hits),
    "pynndescent distance": len(pynndescent.distances.squared_euclidean.stats.cache_hits),
    "njit restored": numba.njit.__module__.startswith("numba"),
}))
"""


def test_two_jobs_starting_together_on_an_empty_cache_compile_umaps_kernels_once(tmp_path):
    """One job takes the cache's lock and compiles (no cache hits); the other waits, then loads
    every kernel from the cache. Without the lock both would find the cache empty and compile."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache")}
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", UMAP_JOB],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [job.communicate(timeout=600) for job in jobs]
    for job, (_, stderr) in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, stderr.decode()[-3000:]
    compiled, loaded = sorted(
        (json.loads(out) for out, _ in outputs), key=lambda hits: hits["fuzzy-set kernel"]
    )
    assert compiled == {"fuzzy-set kernel": 0, "pynndescent distance": 0, "njit restored": True}
    assert loaded["fuzzy-set kernel"] >= 1
    assert loaded["pynndescent distance"] >= 1
    assert loaded["njit restored"]
