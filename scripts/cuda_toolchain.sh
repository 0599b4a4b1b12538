# Sourced by the CUDA scripts: a CUDA build toolchain from NVIDIA's PyPI wheels, for a machine
# with no CUDA toolkit and no GPU (this one, CI). It installs into .venv-cuda/ (gitignored):
#   - nvcc, nvvm, crt, cccl and the runtime headers (what candle-kernels and cudarc's build
#     scripts need to compile the kernels to PTX; ~370 MB, all `cargo check` needs);
#   - on `cuda_link_dir` only: cublas, cublasLt, curand, nvrtc and cudart (what cudarc's
#     `dynamic-linking` links against), with the unversioned `lib*.so` names the linker looks
#     for, in .venv-cuda/link;
#   - a stub libcuda.so (soname libcuda.so.1) exporting the driver API symbols cudarc binds, since
#     the driver library only exists where a GPU driver is installed. At run time the real
#     libcuda.so.1 of the GPU machine is loaded instead.
# CUDA_VERSION (default 13.0) pins the toolkit: it must not be newer than what the GPU machine's
# driver supports (driver 580 = CUDA 13.0), or its PTX cannot be loaded there.
CUDA_VERSION="${CUDA_VERSION:-13.0}"
VENV=.venv-cuda
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ "$(cat "$VENV/.cuda-version" 2>/dev/null)" != "$CUDA_VERSION" ]; then
    "$VENV/bin/python" -m pip install -q --no-deps --upgrade \
        "nvidia-cuda-nvcc==$CUDA_VERSION.*" "nvidia-nvvm==$CUDA_VERSION.*" \
        "nvidia-cuda-crt==$CUDA_VERSION.*" "nvidia-cuda-runtime==$CUDA_VERSION.*" \
        "nvidia-cuda-cccl==$CUDA_VERSION.*"
    rm -f "$VENV/.cuda-link-version"
    echo "$CUDA_VERSION" > "$VENV/.cuda-version"
fi
CUDA_ROOT=$("$VENV/bin/python" -c "import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], 'cu13'))")
export PATH="$CUDA_ROOT/bin:$PATH"
export CUDA_HOME="$CUDA_ROOT" CUDA_PATH="$CUDA_ROOT"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"

# Link directory: unversioned names for the libraries cudarc links, and the driver stub.
cuda_link_dir() {
    local link="$VENV/link"
    if [ "$(cat "$VENV/.cuda-link-version" 2>/dev/null)" != "$CUDA_VERSION" ]; then
        "$VENV/bin/python" -m pip install -q --no-deps --upgrade "nvidia-cuda-nvrtc==$CUDA_VERSION.*" \
            "nvidia-cublas==$CUDA_VERSION.*" "nvidia-curand==10.4.*" >&2
        echo "$CUDA_VERSION" > "$VENV/.cuda-link-version"
    fi
    mkdir -p "$link"
    for lib in cublas cublasLt curand nvrtc cudart; do
        local real
        real=$(find "$CUDA_ROOT/lib" "$CUDA_ROOT/../"*/lib -maxdepth 1 -name "lib$lib.so.*" 2>/dev/null | sort | head -1)
        [ -n "$real" ] || { echo "lib$lib.so.* not found under $CUDA_ROOT" >&2; return 1; }
        ln -sf "$(realpath "$real")" "$link/lib$lib.so"
    done
    # The stub exports every driver function cudarc binds, read from cudarc's sources: fetch
    # them first (a fresh machine has no cargo registry yet), and refuse a stub that would be
    # empty or short (the link then fails with `undefined symbol: cu…`, far from the cause).
    local symbols
    symbols=$(nm -D --defined-only "$link/libcuda.so" 2>/dev/null | grep -c ' T cu' || true)
    if [ "${symbols:-0}" -lt 100 ]; then
        cargo fetch --quiet >&2 || { echo "cargo fetch failed: cudarc's sources are needed for the libcuda stub" >&2; return 1; }
        local bindings
        bindings=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*cudarc-*/src/driver/sys/mod.rs' | sort | tail -1)
        [ -n "$bindings" ] || { echo "cudarc's driver bindings (src/driver/sys/mod.rs) not found in the cargo registry" >&2; return 1; }
        grep -oP '^\s{12}fn \Kcu\w+(?=\()' "$bindings" | sort -u \
            | sed 's/.*/int &(void) { return 999; }/' > "$link/libcuda_stub.c"
        local count
        count=$(wc -l < "$link/libcuda_stub.c")
        if [ "$count" -lt 100 ]; then
            echo "the libcuda stub from $bindings has $count functions (expected hundreds): refusing to link with it" >&2
            rm -f "$link/libcuda_stub.c" "$link/libcuda.so"
            return 1
        fi
        cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$link/libcuda.so" "$link/libcuda_stub.c"
    fi
    realpath "$link"
}
