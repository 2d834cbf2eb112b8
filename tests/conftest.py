import torch

# Two threads on a shared two-core machine collapse under load; the suite
# measures behaviour, not threading.
torch.set_num_threads(1)
