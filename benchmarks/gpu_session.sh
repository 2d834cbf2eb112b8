#!/usr/bin/env bash
# One call on a machine with a CUDA GPU: the tests that fit on it, then bench_gpu.py.
#
# The machine's python3 must hold torch (with CUDA), scikit-learn, pandas, pytest and
# onnxruntime; skops and skl2onnx, which such images often lack, are installed from
# wheels in .whl/ if there are any. Fetch them beforehand, where pip can reach the index:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 -d .whl skops skl2onnx prettytable wcwidth
#
# Then, from the repository root there: bash benchmarks/gpu_session.sh
# Logs go to $OUT (default /tmp). About 6 minutes on one H100 (tests 2, benchmark 4).
set -o pipefail
out=${OUT:-/tmp}
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
python3 -c "import torch, sklearn; print('torch', torch.__version__, 'scikit-learn', sklearn.__version__,
torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO CUDA DEVICE')"
timeout 240 python3 -m pytest -rs -q -p no:cacheprovider tests/test_devices.py tests/test_networks.py \
    tests/test_persistence.py tests/test_skops.py tests/test_onnx.py tests/test_autoencoder.py 2>&1 |
    tee "$out/gpu_tests.log"
timeout 300 python3 benchmarks/bench_gpu.py --devices cpu cuda --repeats 2 2>&1 | tee "$out/bench_gpu.log"
