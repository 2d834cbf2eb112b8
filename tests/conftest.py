import os

# scikit-learn's array-API conformance check (NumPy inputs with dispatch on)
# only runs when SciPy is imported with this flag set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import torch  # noqa: E402

# Two threads on a shared two-core machine collapse under load; the suite
# measures behaviour, not threading.
torch.set_num_threads(1)
