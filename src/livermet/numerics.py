"""Portable floating-point kernels, so that the same inputs give the same tables on every x86-64
machine, not only on the one that made them.

OpenBLAS and NumPy choose their kernels by CPU at import: AVX-512 on one machine, AVX2 on another.
The two round differently in the last bits, and in a small atlas that is enough to move a
borderline cell to another Leiden cluster. The demo run showed it: on an AVX-512 CPU (OpenBLAS
SkylakeX kernels) the N1 share of neutrophils came out 0.354 in PMN and 0.349 in MN, while the
same code with AVX2 kernels gives the rising shares the demo plants. Pinning both libraries to
their AVX2 kernels makes tables identical across machines that have AVX2 (every x86-64 CPU of the
last ten years); it gives up the AVX-512 speed-up of matrix products where there is one. A CPU
without AVX2 (or one whose flags cannot be read) keeps its native kernels: forcing AVX2 there
would crash. Users who want the native kernels set the variables themselves; the defaults here
only apply where they are unset.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys

PORTABLE_KERNELS = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}
"""Environment variables read once, when OpenBLAS and NumPy load: AVX2 kernels, no AVX-512."""


def portable_kernels_apply(cpu_flags: set[str] | None = None) -> bool:
    """Whether this is an x86-64 CPU with AVX2 (``cpu_flags``: read from /proc/cpuinfo unless
    given), the only kind the portable kernels are set on."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    return "avx2" in (cpu_flags if cpu_flags is not None else cpu_flags_of_this_machine())


def use_portable_kernels(
    environ: os._Environ | dict = os.environ, cpu_flags: set[str] | None = None
) -> None:
    """Set :data:`PORTABLE_KERNELS` where unset, where :func:`portable_kernels_apply`.

    Must run before NumPy is imported in the process that computes, or in its parent."""
    if portable_kernels_apply(cpu_flags):
        for name, value in PORTABLE_KERNELS.items():
            environ.setdefault(name, value)


def cpu_flags_of_this_machine(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags as Linux lists them; empty where there is no /proc/cpuinfo."""
    try:
        with open(cpuinfo) as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def describe_kernels() -> str:
    """One line naming the BLAS and its kernels in use, for a rule's log."""
    from threadpoolctl import threadpool_info

    blas = [
        f"{pool['internal_api']} {pool['version']} ({pool.get('architecture')} kernels, "
        f"{pool['num_threads']} threads)"
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    ]
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "none")
    return f"BLAS {'; '.join(blas) or 'unknown'}; NumPy CPU features disabled: {disabled}"


def log_kernels() -> None:
    logging.getLogger(__name__).info("numerics: %s", describe_kernels())


def numba_cache_dir(environ: os._Environ | dict = os.environ) -> str:
    """This user's numba cache for livermet: ``$XDG_CACHE_HOME/livermet/numba`` (default
    ``~/.cache/livermet/numba``)."""
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "livermet", "numba")


def use_shared_numba_cache(environ: os._Environ | dict = os.environ) -> None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`numba_cache_dir` where unset, so that every process of
    every run (and of the test suite) shares one on-disk cache of compiled kernels.

    Compiling is the largest fixed cost of a small job: scanpy's parallel kernels (normalisation,
    variable genes, scaling, Wilcoxon ranks) take 5-10 s each to compile: the demo's first two
    condition-DE jobs took 29-30 s each on an empty cache, 8-9 s on a filled one. With one cache
    per run directory every new run and test workdir compiled them again, and the test process
    (numba's default, beside each library's source) once more. numba keys
    its entries by source file and CPU, so one directory serves several environments and machines.
    Must run before numba is imported in the process, or in its parent."""
    environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir(environ))


def import_umap_with_cached_kernels() -> None:
    """Import umap-learn (and pynndescent, which it imports) with numba's on-disk cache on for
    every kernel they define, so that only the first job of a run compiles them.

    Both libraries compile their numba kernels in every fresh process, and mark few of them
    ``cache=True``: importing umap compiles pynndescent's distances (about 9 s on two cores) and
    the first kNN graph compiles umap's fuzzy-set kernels (another 10 s), in each of the jobs
    that build a graph (integration, four subclusterings, five human datasets, pseudotime).
    Decorated while numba's ``njit``/``jit`` default to ``cache=True``, the same kernels are
    written to ``NUMBA_CACHE_DIR`` (:func:`use_shared_numba_cache`) once and loaded from it
    afterwards: import plus a 3,000-cell graph and UMAP, 30 s -> 5.5 s in a fresh process. The
    machine code is the one numba would compile, so results do not change. Does nothing when umap
    is already imported; numba's decorators are restored afterwards.

    With ``NUMBA_CACHE_DIR`` set, the import and a graph and layout of 200 points (which compile
    or load the kernels the workflow's graphs use) run under an exclusive lock on that directory:
    graph jobs that start together on an empty cache then compile once, the first holding the
    lock and the others waiting, then loading (the demo's first two graph jobs, and a test
    session beside its demo run, each compiled them before).
    """
    if "umap" in sys.modules:
        return
    cache = os.environ.get("NUMBA_CACHE_DIR")
    with _exclusive_lock(cache):
        _import_umap_caching_kernels()
        if cache:
            _build_a_small_graph_and_layout()


@contextlib.contextmanager
def _exclusive_lock(directory: str | None):
    """Hold an exclusive ``flock`` on ``directory``/.livermet.lock; without a directory, or where
    it cannot be written or refuses locks, go on unlocked (compiling twice costs time, not
    results)."""
    if not directory:
        yield
        return
    import fcntl

    try:
        os.makedirs(directory, exist_ok=True)
        handle = open(os.path.join(directory, ".livermet.lock"), "w")
    except OSError as err:  # an unwritable cache: numba then compiles without caching
        logging.getLogger(__name__).warning("numba cache lock not taken (%s)", err)
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as err:
            logging.getLogger(__name__).warning("numba cache lock not taken (%s)", err)
        yield


def _import_umap_caching_kernels() -> None:
    import numba

    plain_njit, plain_jit = numba.njit, numba.jit

    def cached(decorator):
        def decorate(*args, **kwargs):
            kwargs.setdefault("cache", True)
            return decorator(*args, **kwargs)

        return decorate

    numba.njit, numba.jit = cached(plain_njit), cached(plain_jit)
    try:
        import umap  # noqa: F401
    finally:
        numba.njit, numba.jit = plain_njit, plain_jit


def _build_a_small_graph_and_layout() -> None:
    """:func:`livermet.atlas.leiden_clusters` and :func:`~livermet.atlas.umap_layout` themselves
    on 200 points of float32 corrected PCs: they compile (or load) the kernels for exactly the
    argument types the workflow's graphs pass. (umap is imported by now, so their own call of
    :func:`import_umap_with_cached_kernels` returns at once.)"""
    import anndata as ad
    import numpy as np

    from livermet.atlas import AtlasSettings, leiden_clusters, umap_layout

    points = np.random.default_rng(0).normal(size=(200, 20)).astype(np.float32)
    adata = ad.AnnData(points, obsm={"X_pca_harmony": points})
    leiden_clusters(adata, AtlasSettings())
    umap_layout(adata, AtlasSettings())
