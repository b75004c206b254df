"""Training on several GPUs or processes with torch.distributed (NCCL on GPUs, gloo on CPUs).

``cloudatlas train ... --nproc N`` re-runs itself under torchrun (``torch.distributed.run``);
so does ``torchrun --nproc_per_node N -m cloudatlas train ...``, and torchrun's rendezvous flags
(``--nnodes``, ``--node_rank``, ``--rdzv_endpoint``) take it to several machines. Inside, every
process trains the same network on its shard of each epoch (a ``DistributedSampler``); after
each backward pass the gradients are averaged over the processes, and after each epoch the
BatchNorm statistics of rank 0 are sent to all, so every process holds the same network and
takes the same decisions. Process 0 prepares what is cached (decoded photos, the teacher's
targets, the frozen blocks' views) first, the others then read the same caches; only process 0
writes the run folder. ``batch_size`` is the global batch: each process takes its share.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def world() -> World:
    """This process's place, from the variables torchrun sets (one process without them)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def start(device: str) -> World:
    """Join the process group when torchrun started this process; returns its place."""
    w = world()
    if w.active and not dist.is_initialized():
        gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if gpu:
            torch.cuda.set_device(w.local_rank)
        dist.init_process_group(backend="nccl" if gpu else "gloo")
    return w


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


@contextlib.contextmanager
def main_first():
    """Process 0 runs the block first (filling the caches); the others follow and find them."""
    w = world()
    if w.active and not w.main:
        barrier()
    yield
    if w.active and w.main:
        barrier()


def _collective(tensor: torch.Tensor, op) -> None:
    """Run ``op`` on ``tensor`` in place; gloo wants dense memory (channels-last weights are not)."""
    if tensor.is_contiguous():
        op(tensor)
    else:
        dense = tensor.contiguous()
        op(dense)
        tensor.copy_(dense)


def average_gradients(parameters) -> None:
    """The mean of every process's gradients: the gradient of the global batch's mean loss."""
    if not dist.is_initialized():
        return
    size = dist.get_world_size()
    for p in parameters:
        if p.grad is not None:
            _collective(p.grad, lambda t: dist.all_reduce(t, op=dist.ReduceOp.SUM))
            p.grad /= size


def share_buffers(module: torch.nn.Module, parameters: bool = False) -> None:
    """Rank 0's BatchNorm statistics (and with ``parameters``, its weights) to every process, so
    all hold, and evaluate, the same network."""
    if not dist.is_initialized():
        return
    tensors = list(module.buffers()) + (list(module.parameters()) if parameters else [])
    with torch.no_grad():
        for tensor in tensors:
            _collective(tensor.data, lambda t: dist.broadcast(t, src=0))


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``cloudatlas <argv>`` as ``nproc`` processes under torchrun on this machine."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "cloudatlas", *argv]
    return subprocess.call(command)
